"""lua/read_board.lua called directly, on fakeredis and Redis.

A page of the top or around a player answers each entry's composite score, its
aggregates and its previous rank (nil where there is none); a player not on the board
is not ranked.
"""

from __future__ import annotations

from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.board_script_keys import AGGREGATES, RANKS, SCORES, TOP, M
from tests.script_state import state, written


def a_board(redis):
    """a 90; b and c 70 (b first); d 10. c has no aggregates; a and b were ranked before."""
    redis.zadd(
        SCORES,
        {"a": 90 * M + TOP, "b": 70 * M + TOP, "c": 70 * M + TOP - 1, "d": 10 * M + TOP},
    )
    redis.hset(AGGREGATES, mapping={"a": "90:3:30:20", "b": "70:2:20:10", "d": "10:1:10:1"})
    redis.zadd(RANKS, {"a": 2, "b": 1})


def read(redis, mode, at, count):
    return Scripts(redis).read_board(keys=[SCORES, AGGREGATES, RANKS], args=[mode, M, at, count])


COMPOSITE = {  # as Redis answers a score: the integer's digits
    "a": str(90 * M + TOP).encode(),
    "b": str(70 * M + TOP).encode(),
    "c": str(70 * M + TOP - 1).encode(),
    "d": str(10 * M + TOP).encode(),
}
AGGREGATES_OF = {"a": b"90:3:30:20", "b": b"70:2:20:10", "c": None, "d": b"10:1:10:1"}
PREVIOUS = {"a": b"2", "b": b"1", "c": None, "d": None}


def page(*players):
    """The reply's last three values for these entries: the page, aggregates, previous."""
    return [
        [value for player in players for value in (player.encode(), COMPOSITE[player])],
        [AGGREGATES_OF[player] for player in players],
        [PREVIOUS[player] for player in players],
    ]


def test_read_top_answers_the_page_the_first_rank_aggregates_and_previous_ranks(any_redis):
    a_board(any_redis)
    before = state(any_redis)
    assert read(any_redis, "top", 0, 10) == [4, 0, 1, *page("a", "b", "c", "d")]
    assert written(before, state(any_redis)) == {}


def test_read_top_from_inside_a_tie_ranks_its_first_entry_by_the_higher_totals(any_redis):
    a_board(any_redis)
    assert read(any_redis, "top", 2, 2) == [4, 2, 2, *page("c", "d")]


def test_read_top_past_the_last_player_answers_an_empty_page(any_redis):
    a_board(any_redis)
    assert read(any_redis, "top", 10, 5) == [4, 10]
    assert read(any_redis, "top", 4, 1) == [4, 4]


def test_read_top_of_an_empty_board_answers_no_players(any_redis):
    assert read(any_redis, "top", 0, 10) == [0, 0]


def test_read_top_of_a_board_without_aggregates_or_snapshot_answers_nil_for_each(any_redis):
    any_redis.zadd(SCORES, {"a": 90 * M + TOP, "b": 70 * M + TOP})
    assert read(any_redis, "top", 0, 10) == [
        2,
        0,
        1,
        [b"a", COMPOSITE["a"], b"b", COMPOSITE["b"]],
        [None, None],
        [None, None],
    ]


def test_read_around_answers_the_player_and_its_neighbours(any_redis):
    a_board(any_redis)
    assert read(any_redis, "around", "c", 1) == [4, 1, 2, *page("b", "c", "d")]


def test_read_around_the_first_player_starts_the_page_at_the_top(any_redis):
    a_board(any_redis)
    assert read(any_redis, "around", "a", 1) == [4, 0, 1, *page("a", "b")]


def test_read_around_a_player_not_on_the_board_answers_not_ranked(any_redis):
    a_board(any_redis)
    assert read(any_redis, "around", "nobody", 1) == [ScriptCode.NOT_RANKED]
