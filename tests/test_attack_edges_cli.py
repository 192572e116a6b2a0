"""The `questboard` command takes a player id as the API does, whole: an id with a line
break after it is another player's id, and an admin who bans it or takes it off the
boards must be told, not shown the player's name as done."""

from __future__ import annotations

from engine.boards.exams import Exam, record_exam
from engine.security import bans
from tests.cli_harness import engine_of as engine_of  # a fixture: its own name
from tests.cli_harness import questboard as questboard  # a fixture: its own name

PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"


def test_a_ban_of_an_id_with_a_line_break_is_refused(questboard, engine_of):
    code, out, err = questboard("bans", "create", "--player", "mallory\n", "--reason", "bot")
    assert (code, out) == (2, "")
    assert err == f"questboard: 'mallory\\n' is not a player id ({PATTERN}).\n"
    assert bans.listing(engine_of, "player") == []  # no ban on an id nobody plays as


def test_removing_an_id_with_a_line_break_is_refused(questboard, engine_of):
    record_exam(engine_of, "mallory", Exam("attempt-1", "math", 80, 10, 8))
    assert questboard("leaderboards", "remove", "mallory\n") == (
        2,
        "",
        f"questboard: 'mallory\\n' is not a player id ({PATTERN}).\n",
    )
    code, out, _ = questboard("leaderboards", "remove", "mallory")
    assert (code, out.startswith("Removed mallory from 6 boards")) == (0, True)


def test_lifting_a_ban_id_with_a_line_break_is_refused(questboard, engine_of):
    ban = bans.create(engine_of, "player", "mallory", "bot")
    code, out, err = questboard("bans", "lift", f"{ban.ban_id}\n")
    assert (code, out) == (2, "")
    assert err == f"questboard: '{ban.ban_id}\\n' is not a ban id (ban_ and 16 hex digits).\n"
    assert [b.ban_id for b in bans.listing(engine_of, "player")] == [ban.ban_id]
