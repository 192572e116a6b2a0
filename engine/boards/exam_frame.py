"""Step 1 of counting exams: what every exam counted at one moment shares (the frame),
and the call of record_exams.lua that claims each exam id and updates the player's
exact aggregates (see engine.boards.exams for the whole path).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine import boards, keys, progression
from engine.boards import exam_stats
from engine.calendar import PERIOD_TYPES, Period
from engine.clock import to_ms
from engine.progression import timezones
from engine.runtime import Engine
from engine.scripts import ScriptBatch

RATE_GROUP = "exams"  # the rules' rate-limit group of exams


@dataclass(frozen=True)
class Exam:
    exam_id: str
    category: str
    score: int
    total_questions: int
    correct_answers: int

    def fingerprint(self) -> str:
        content = f"{self.category}|{self.score}|{self.total_questions}|{self.correct_answers}"
        return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class ExamOutcome:
    summary: dict
    created: bool  # False: a replay, answered with the first summary


@dataclass(frozen=True)
class Frame:
    """What every exam counted at one moment shares: periods, their arguments, the day."""

    now: datetime
    periods: list[Period]
    shared_args: list[Any]  # record_exams.lua's ARGV[1..8]
    context: progression.DayContext
    zone: timezones.ZonePart  # the other days a player with a time zone may be in

    @classmethod
    def at(cls, engine: Engine, now: datetime) -> Frame:
        context = progression.day_context(engine, now)
        zone = timezones.zone_part(engine, now)
        day = _PeriodsOfDay.of(engine, context)
        now_s = int(now.timestamp())
        spec = ",".join(f"{now_s - start}:{rest}" for start, rest in day.specs)
        shared = [
            to_ms(now),
            engine.rules.limits.max_balance,
            engine.idempotency_ttl_seconds,  # the exam record's, as other requests'
            spec,
            day.names,
            context.context + zone.context_tail,
            context.rewards_json + zone.rewards_tail,
            engine.ledger_keep_entries,
        ]
        return cls(now, day.periods, shared, context, zone)


@dataclass(frozen=True)
class _PeriodsOfDay:
    """The current periods of a game day and what record_exams.lua takes of each, but
    the seconds elapsed since the period started: the same all day, so built once a day
    per process (as the day's context is)."""

    periods: list[Period]
    specs: list[tuple[int, str]]  # (period start in unix s, "expire_at:name:oldest kept")
    names: str  # "weekly:<name>,monthly:<name>,yearly:<name>"

    @classmethod
    def of(cls, engine: Engine, context: progression.DayContext) -> _PeriodsOfDay:
        key = ("exam_periods", context.day)
        day = engine.memo.get(key)
        if day is None:
            periods = [
                boards.current_period(engine, period_type, context.starts_at)
                for period_type in PERIOD_TYPES
            ]
            day = engine.memo[key] = cls(
                periods=periods,
                specs=[
                    (
                        int(engine.calendar.start(p).timestamp()),
                        f"{int(boards.expires_at(engine, p).timestamp())}:{p.name}:"
                        f"{boards.kept_periods(engine, p.period_type, context.starts_at)[-1].name}",
                    )
                    for p in periods
                ],
                names=",".join(f"{p.period_type}:{p.name}" for p in periods),
            )
        return day


def count_into_aggregates(
    engine: Engine,
    frame: Frame,
    submissions: Sequence[tuple[str, Exam]],
    batch: ScriptBatch | None = None,
    judge_pace: bool = True,
) -> Any:
    """Step 1 alone: record_exams.lua for exams of one shard (queued in `batch` if given).

    `judge_pace` False leaves rapid fire out: exams a game server delivers in a batch,
    played before, whose arrival together says nothing of their player's pace."""
    battle_pass = engine.rules.battle_pass
    script_keys: list[str] = []
    args: list[Any] = [*frame.shared_args, "1" if judge_pace else "0"]
    for player_id, exam in submissions:
        script_keys += [
            keys.exam(player_id, exam.exam_id),
            keys.board_stats(player_id),
            *exam_stats.earlier_keys(player_id, frame.periods),
            keys.wallet(player_id),
            keys.ledger(player_id),
            keys.outbox(keys.shard_of(player_id)),
            *frame.context.player_keys(player_id, frame.now, RATE_GROUP),
            keys.settings(player_id),
            *frame.zone.daily_keys(player_id, frame.context.day),
        ]
        xp = battle_pass.xp_per_exam + battle_pass.xp_per_correct_answer * exam.correct_answers
        args.append(
            f"{exam.fingerprint()}|{player_id}|{exam.exam_id}|{exam.category}|{exam.score}|"
            f"{exam.total_questions}|{exam.correct_answers}|{xp}"
        )
    if batch is not None:
        return batch.call("record_exams", script_keys, args)
    return engine.scripts.record_exams(keys=script_keys, args=args)
