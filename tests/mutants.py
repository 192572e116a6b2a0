"""Mutants for `scripts/mutants.py`: each removes one guarantee the tests must notice.

To add one: name it, give the exact text to replace (it must occur once in the file)
and its replacement, and the test files that should fail; then run
`.venv/bin/python scripts/mutants.py --runs 10 <name>` and see it caught 10 of 10.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Replacement:
    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    name: str
    replacements: tuple[Replacement, ...]
    tests: tuple[str, ...]


def mutant(name: str, tests: tuple[str, ...], *replacements: tuple[str, str, str]) -> Mutant:
    return Mutant(name, tuple(Replacement(*r) for r in replacements), tests)


MUTANTS: tuple[Mutant, ...] = (
    mutant(
        "funds_checked_before_the_debit_script",
        ("tests/test_concurrency.py",),
        (
            "lua/record_activity.lua",
            "local refused, details = wallet_refusal(wallet, changes)",
            "local refused, details = nil, nil",
        ),
        (
            "engine/economy/purchases.py",
            "    transaction = activity.record(\n",
            "    from engine.economy import wallet\n"
            "    from engine.errors import InsufficientFundsError\n"
            "    held = wallet.balances(engine, player_id)\n"
            "    for resource, amount in item.cost(quantity).items():\n"
            "        if held.get(resource, 0) < amount:\n"
            "            raise InsufficientFundsError('not enough', {})\n"
            "    transaction = activity.record(\n",
        ),
    ),
    mutant(
        "purchase_replay_answered_in_python",
        ("tests/test_concurrency.py",),
        (
            "lua/record_activity.lua",
            "if fingerprint ~= '' then\n  local replay_code, replay = replayed(IDEM, fingerprint)",
            "if false then\n  local replay_code, replay = replayed(IDEM, fingerprint)",
        ),
        (
            "engine/economy/activity.py",
            "    taken = rate_limits.take_address_slot(\n",
            "    if request is not None and engine.redis.get(idempotency_key) is not None:\n"
            "        recorded = json.loads(engine.redis.get(idempotency_key))\n"
            "        return transactions.outcome_to_transaction(engine, recorded, replayed=True)\n"
            "    taken = rate_limits.take_address_slot(\n",
        ),
    ),
    mutant(
        "exam_seen_checked_in_python",
        ("tests/test_concurrency.py",),
        ("lua/record_exams.lua", "  if seen[1] then\n", "  if false then\n"),
        (
            "engine/boards/exams.py",
            "        by_shard.setdefault(keys.shard_of(player_id), []).append(index)\n",
            "        recorded = engine.redis.exists(keys.exam(player_id, exam.exam_id))\n"
            "        if _is_recorded(exam, recorded):\n"
            "            results[index] = ExamOutcome({}, created=False)\n"
            "            continue\n"
            "        by_shard.setdefault(keys.shard_of(player_id), []).append(index)\n",
        ),
    ),
    mutant(
        "ad_cap_checked_in_python",
        ("tests/test_races.py",),
        (
            "lua/record_activity.lua",
            "  if used >= cap then\n",
            "  if false then\n",
        ),
        (
            "engine/economy/activity.py",
            "    taken = rate_limits.take_address_slot(\n",
            "    from engine.errors import DailyLimitReachedError\n"
            "    daily = keys.daily(player_id, context.day.isoformat())\n"
            "    if daily_cap and int(engine.redis.hget(daily, 'ads') or 0) >= daily_cap:\n"
            "        raise DailyLimitReachedError('daily limit', {'limit': daily_cap})\n"
            "    taken = rate_limits.take_address_slot(\n",
        ),
    ),
    mutant(
        "fraud_alert_on_every_violation_past_the_rate",
        ("tests/test_races.py",),
        (
            "engine/security/__init__.py",
            "if per_minute == rules.alert_violations_per_minute + 1:",
            "if per_minute > rules.alert_violations_per_minute:",
        ),
    ),
    mutant(
        "ban_copy_never_brought_up_to_date",
        ("tests/test_ban_cache.py",),
        (
            "engine/security/ban_cache.py",
            "checked is not None and 0 <= now_ms - checked < self._max_age_ms:",
            "checked is not None:",
        ),
    ),
    mutant(
        "ban_change_not_logged_for_other_processes",
        ("tests/test_ban_cache.py",),
        (
            "engine/security/bans.py",
            '        log_change(pipe, kind, field, f"{ban.ban_id}|{_ms(ban)}")\n',
            "",
        ),
    ),
    mutant(
        "read_limit_taken_before_the_read_by_the_web_layer",
        ("tests/test_http_round_trips.py",),
        (
            "web/security.py",
            "        g.read_group = read\n",
            "        g.read_group = None  # a round trip of its own, before the view's\n"
            "        rate_limits.read_player(get_engine(), player_id, read, [])\n",
        ),
    ),
    mutant(
        "player_blocked_alert_for_every_concurrent_block",
        ("tests/test_races.py",),
        (
            "engine/security/__init__.py",
            "    if new:\n        alerts.raise_alert(",
            "    if True:\n        alerts.raise_alert(",
        ),
    ),
)
