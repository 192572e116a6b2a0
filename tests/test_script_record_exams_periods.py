"""lua/record_exams.lua over a period's boards, called directly on fakeredis and Redis.

A period's first exam opens it: its hash of the earlier layout moved in, the periods
past their retention dropped, the month and year it leaves in place; later exams of
the period read no other field, and an exam that scores nothing keeps the second its
total was reached.
"""

from __future__ import annotations

import json

from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.record_exams_calls import (
    ELAPSED,
    NAMES,
    NOW_S,
    PERIOD_ENDS,
    STATS,
    decoded,
    earlier_stats,
    exam_call,
    fields,
)
from tests.script_state import expires_in, state, written


def record(redis, *exams: tuple[str, str, str, int], **options):
    """Exams as (fingerprint, player, exam id, score), each of 10 questions."""
    all_keys, args = exam_call(*exams, **options)
    return decoded(Scripts(redis).record_exams(keys=all_keys, args=args))


def test_a_weeks_first_exam_adds_to_the_month_and_year_it_leaves_in_place(any_redis):
    """The week opens (its earlier layout moved in, a week past retention dropped) in
    the same call that adds to the month's and year's sums read before it."""
    week, month, year = (f"{NAMES[t]}:" for t in NAMES)
    any_redis.hset(
        STATS,
        mapping={
            month + "global": "20:2:20:10:3",
            month + "math": "20:2:20:10:3",
            year + "global": "30:3:30:15:4",
            year + "art": "7:1:10:3:4",
            "2026-W35:global": "1:1:1:1:1",
        },
    )
    any_redis.hset(earlier_stats("alice", "weekly"), "art", "5:1:10:2:7")

    code, result = record(any_redis, ("fp", "alice", "x1", 10))

    assert code == ScriptCode.APPLIED
    assert json.loads(result)["boards"] == [
        [10, 1, 10, 5, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [30, 3, 30, 15, ELAPSED],
        [30, 3, 30, 15, ELAPSED],
        [40, 4, 40, 20, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
    ]
    assert state(any_redis)[STATS] == {
        week + "art": "5:1:10:2:7",
        week + "global": f"10:1:10:5:{ELAPSED}",
        week + "math": f"10:1:10:5:{ELAPSED}",
        month + "global": f"30:3:30:15:{ELAPSED}",
        month + "math": f"30:3:30:15:{ELAPSED}",
        year + "global": f"40:4:40:20:{ELAPSED}",
        year + "art": "7:1:10:3:4",
        year + "math": f"10:1:10:5:{ELAPSED}",
    }
    assert expires_in(any_redis, STATS) == max(PERIOD_ENDS.values()) - NOW_S


def test_an_exam_that_scores_nothing_keeps_the_second_its_total_was_reached(any_redis):
    record(any_redis, ("fp1", "alice", "x1", 10))
    any_redis.hset(STATS, "2026-W48:global", "10:1:10:5:40")
    _, result = record(any_redis, ("fp2", "alice", "x2", 0))
    assert json.loads(result)["boards"][0] == [10, 2, 20, 10, 40]


def test_a_periods_first_exam_moves_in_its_hash_of_the_earlier_layout(any_redis):
    """A player of a version before board_stats: the week's and the year's hashes of
    one period each (category -> sums) are moved into the stats hash and deleted; a
    period without one (the month here) starts from nothing."""
    any_redis.hset(
        earlier_stats("alice", "weekly"), mapping={"global": "5:1:10:2:7", "art": "5:1:10:2:7"}
    )
    any_redis.hset(earlier_stats("alice", "yearly"), "global", "9:2:20:4:8")
    before = state(any_redis)

    code, result = record(any_redis, ("fp", "alice", "x1", 10))

    assert code == ScriptCode.APPLIED
    week, month, year = (f"{NAMES[t]}:" for t in NAMES)
    assert json.loads(result)["boards"] == [
        [15, 2, 20, 7, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
        [19, 3, 30, 9, ELAPSED],
        [10, 1, 10, 5, ELAPSED],
    ]
    changed = written(before, state(any_redis))
    assert changed[STATS] == {
        week + "global": f"15:2:20:7:{ELAPSED}",
        week + "art": "5:1:10:2:7",
        week + "math": f"10:1:10:5:{ELAPSED}",
        month + "global": f"10:1:10:5:{ELAPSED}",
        month + "math": f"10:1:10:5:{ELAPSED}",
        year + "global": f"19:3:30:9:{ELAPSED}",
        year + "math": f"10:1:10:5:{ELAPSED}",
    }
    assert changed[earlier_stats("alice", "weekly")] is None
    assert changed[earlier_stats("alice", "yearly")] is None
    assert expires_in(any_redis, STATS) == max(PERIOD_ENDS.values()) - NOW_S


def test_a_periods_first_exam_drops_the_periods_past_their_retention(any_redis):
    kept = {
        "2026-W36:global": "1:1:1:1:1",  # the oldest week kept
        "2026-W47:math": "1:1:1:1:1",
        "2024-11:global": "1:1:1:1:1",
        "2021:global": "1:1:1:1:1",
    }
    past = {"2026-W35:global": "1:1:1:1:1", "2024-10:art": "1:1:1:1:1", "2020:global": "1:1:1:1:1"}
    any_redis.hset(STATS, mapping={**kept, **past})
    any_redis.expire(STATS, 50)

    record(any_redis, ("fp", "alice", "x1", 10))

    sums = fields(**{"global": f"10:1:10:5:{ELAPSED}", "math": f"10:1:10:5:{ELAPSED}"})
    assert state(any_redis)[STATS] == {**kept, **sums}
    assert expires_in(any_redis, STATS) == max(PERIOD_ENDS.values()) - NOW_S  # made longer


def test_later_exams_of_a_period_read_no_other_field(any_redis):
    """Only a period's first exam looks at the other fields (HKEYS): a field past its
    retention written since stays until the player's first exam of a later period."""
    record(any_redis, ("fp1", "alice", "x1", 10))
    any_redis.hset(STATS, "2020:global", "1:1:1:1:1")

    record(any_redis, ("fp2", "alice", "x2", 10))

    assert any_redis.hget(STATS, "2020:global") == b"1:1:1:1:1"
