"""Every registered Lua script has a module of direct tests (it calls the script itself).

A script added to engine/scripts.py's registry without one fails here: name its module
in DIRECT_TESTS, where each call, reply and written key of the script is pinned down.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.scripts import SCRIPTS

TESTS = Path(__file__).resolve().parent

DIRECT_TESTS = {
    "apply_transaction": "test_apply_transaction_script.py",
    "record_activity": "test_script_record_activity.py",
    "repair_streak": "test_script_repair_streak.py",
    "record_exams": "test_script_record_exams.py",
    "keep_exam_summaries": "test_script_keep_exam_summaries.py",
    "take_rate_slot": "test_script_take_rate_slot.py",
    "read_player": "test_script_read_player.py",
    "update_board": "test_board_scripts.py",
    "join_league": "test_script_leagues.py",
    "read_cohort": "test_script_leagues.py",
    "record_league_tiers": "test_script_leagues.py",
    "remove_cohort_member": "test_script_remove_cohort_member.py",
    "read_board": "test_script_read_board.py",
    "rotate_snapshot": "test_board_scripts.py",
    "take_job_lock": "test_script_job_locks.py",
    "renew_job_lock": "test_script_job_locks.py",
    "release_job_lock": "test_script_job_locks.py",
    "reap_job_runs": "test_script_job_locks.py",
    "hold_job_alert": "test_script_hold_job_alert.py",
    "trim_ledgers": "test_script_trim_ledgers.py",
    "restore_daily_counters": "test_script_restore_daily_counters.py",
    "restore_forward": "test_script_restore_forward.py",
    "replace_zone_table": "test_zone_refresh.py",
}


def test_every_registered_script_has_a_direct_test_module():
    assert set(DIRECT_TESTS) == set(SCRIPTS)


def test_each_direct_test_module_calls_its_script_on_both_backends():
    for script, module in DIRECT_TESTS.items():
        text = (TESTS / module).read_text(encoding="utf-8")
        calls = re.search(rf"Scripts\(\w+\)\.{script}\b", text)
        assert calls, f"{module} never calls {script}.lua"
        assert "any_redis" in text, f"{module} does not run on fakeredis and Redis"
