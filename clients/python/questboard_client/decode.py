"""From the API's JSON to the dataclasses of `models`, shared by both clients.

Each decoder takes the parsed body (and, for state-changing calls, whether the answer
was a replay). A body without a required field raises `UnexpectedAnswer`: the server
and this client disagree, which retrying does not fix. The fields are read with the
checked readers of `decode_fields`; the boards' and leagues' decoders are in
`decode_boards` and re-exported here, so every decoder is importable from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from questboard_client import decode_fields as f
from questboard_client import models as m
from questboard_client.decode_boards import (
    board_page,
    entry,
    league_cohort,
    player_league,
    player_ranks,
    standing,
)
from questboard_client.decode_fields import Json
from questboard_client.decode_fields import UnexpectedAnswer as UnexpectedAnswer
from questboard_client.errors import error_from_answer

T = TypeVar("T")

__all__ = [
    "UnexpectedAnswer",
    "board_page",
    "entry",
    "league_cohort",
    "player_league",
    "player_ranks",
    "standing",
]


def health(body: Json) -> m.Health:
    return m.Health(f.text(body, "status"), f.text(body, "redis"), f.time(body, "now"))


def catalog(body: Json) -> m.Catalog:
    def item(b: Json) -> m.CatalogItem:
        return m.CatalogItem(
            f.text(b, "item"),
            f.text(b, "title"),
            f.amounts(b, "price"),
            f.amounts(b, "gives"),
            f.integer(b, "max_quantity"),
        )

    return m.Catalog(f.many(body, "items", item))


def wallet(body: Json) -> m.Wallet:
    return m.Wallet(f.text(body, "player_id"), f.amounts(body, "balances"))


def progress(body: Json) -> m.Progress:
    bonus = f.optional(body, "daily_bonus", dict)
    xp = f.optional(body, "xp", dict)
    return m.Progress(
        daily_bonus=None if bonus is None else _daily_bonus(bonus),
        missions=f.many(body, "missions", _mission_progress),
        xp=None
        if xp is None
        else m.Xp(
            f.text(xp, "season"),
            f.integer(xp, "gained"),
            f.integer(xp, "total"),
            f.integer(xp, "level"),
            f.integers(xp, "levels_gained"),
        ),
        level_rewards=f.many(body, "level_rewards", _level_reward),
        streak=f.integer(body, "streak"),
        freezes_used=f.optional(body, "freezes_used", int) or 0,
    )


def _daily_bonus(body: Json) -> m.DailyBonus:
    return m.DailyBonus(
        f.integer(body, "streak"),
        f.amounts(body, "reward"),
        f.optional(body, "transaction_id", str),
    )


def _mission_progress(body: Json) -> m.MissionProgress:
    return m.MissionProgress(
        id=f.text(body, "id"),
        progress=f.integer(body, "progress"),
        target=f.integer(body, "target"),
        completed=f.field(body, "completed", bool),
        xp=f.optional(body, "xp", int),
        reward=None if body.get("reward") is None else f.amounts(body, "reward"),
        transaction_id=f.optional(body, "transaction_id", str),
    )


def _level_reward(body: Json) -> m.LevelReward:
    return m.LevelReward(
        f.integer(body, "level"), f.amounts(body, "reward"), f.optional(body, "transaction_id", str)
    )


def purchase(body: Json, replayed: bool) -> m.Purchase:
    return m.Purchase(
        transaction_id=f.text(body, "transaction_id"),
        item=f.text(body, "item"),
        quantity=f.integer(body, "quantity"),
        cost=f.amounts(body, "cost"),
        balances=f.amounts(body, "balances"),
        progress=progress(f.field(body, "progress", dict)),
        replayed=replayed,
    )


def transaction(body: Json, replayed: bool) -> m.Transaction:
    return m.Transaction(f.text(body, "transaction_id"), f.amounts(body, "balances"), replayed)


def ledger_page(body: Json) -> m.LedgerPage:
    def entry(b: Json) -> m.LedgerEntry:
        return m.LedgerEntry(
            transaction_id=f.text(b, "transaction_id"),
            kind=f.text(b, "kind"),
            deltas=f.amounts(b, "deltas"),
            balances_after=f.amounts(b, "balances_after"),
            reason=f.text(b, "reason"),
            at=f.time(b, "at"),
        )

    return m.LedgerPage(f.text(body, "player_id"), f.many(body, "entries", entry))


def exam_summary(body: Json, replayed: bool) -> m.ExamSummary:
    def board(b: Json) -> m.BoardResult:
        return m.BoardResult(
            board=f.text(b, "board"),
            category=f.optional(b, "category", str),
            period=f.text(b, "period"),
            score=f.integer(b, "score"),
            rank=f.integer(b, "rank"),
            exams=f.integer(b, "exams"),
            accuracy=f.field(b, "accuracy", float),
        )

    return m.ExamSummary(
        exam_id=f.text(body, "exam_id"),
        player_id=f.text(body, "player_id"),
        category_id=f.text(body, "category_id"),
        score=f.integer(body, "score"),
        total_questions=f.integer(body, "total_questions"),
        correct_answers=f.integer(body, "correct_answers"),
        boards=f.many(body, "boards", board),
        progress=progress(f.field(body, "progress", dict)),
        replayed=replayed,
    )


def _mission_state(body: Json) -> m.MissionState:
    return m.MissionState(
        id=f.text(body, "id"),
        title=f.text(body, "title"),
        event=f.text(body, "event"),
        progress=f.integer(body, "progress"),
        target=f.integer(body, "target"),
        completed=f.field(body, "completed", bool),
        xp=f.integer(body, "xp"),
        reward=f.amounts(body, "reward"),
        credited=None if body.get("credited") is None else f.amounts(body, "credited"),
    )


def missions(body: Json) -> m.Missions:
    return m.Missions(
        f.text(body, "player_id"),
        f.day(body, "game_day"),
        f.time(body, "next_reset_at"),
        f.many(body, "missions", _mission_state),
    )


def daily(body: Json) -> m.Daily:
    login, ads = f.field(body, "login", dict), f.field(body, "ads", dict)
    return m.Daily(
        player_id=f.text(body, "player_id"),
        game_day=f.day(body, "game_day"),
        next_reset_at=f.time(body, "next_reset_at"),
        missions=f.many(body, "missions", _mission_state),
        login_claimed=f.field(login, "claimed", bool),
        streak=f.integer(login, "streak"),
        ads_watched=f.integer(ads, "watched"),
        ads_limit=f.integer(ads, "limit"),
        streak_repair=_repair_offer(f.optional(body, "streak_repair", dict)),
    )


def _repair_offer(body: Json | None) -> m.StreakRepairOffer | None:
    if body is None:
        return None
    return m.StreakRepairOffer(
        lost=f.integer(body, "lost"),
        streak=f.integer(body, "streak"),
        price=f.amounts(body, "price"),
        repair_by=f.time(body, "repair_by"),
    )


def streak_repair(body: Json, replayed: bool) -> m.StreakRepair:
    return m.StreakRepair(
        transaction_id=f.text(body, "transaction_id"),
        streak=f.integer(body, "streak"),
        lost=f.integer(body, "lost"),
        best=f.integer(body, "best"),
        price=f.amounts(body, "price"),
        balances=f.amounts(body, "balances"),
        replayed=replayed,
        milestone_bonuses=_milestone_bonuses(body),
    )


def _milestone_bonuses(body: Json) -> tuple[m.DailyBonus, ...]:
    """() from a server older than the field, or a repair it recorded before it."""
    if isinstance(body, dict) and body.get("milestone_bonuses") is None:
        return ()
    return f.many(body, "milestone_bonuses", _daily_bonus)


def login(body: Json, replayed: bool) -> m.Login:
    return m.Login(
        claimed=f.field(body, "claimed", bool),
        streak=f.integer(body, "streak"),
        reward=f.amounts(body, "reward"),
        next_claim_at=f.time(body, "next_claim_at"),
        balances=f.amounts(body, "balances"),
        progress=progress(f.field(body, "progress", dict)),
        replayed=replayed,
    )


def ad_reward(body: Json, replayed: bool) -> m.AdReward:
    return m.AdReward(
        transaction_id=f.optional(body, "transaction_id", str),
        reward=f.amounts(body, "reward"),
        ads_watched=f.integer(body, "ads_watched"),
        ads_limit=f.integer(body, "ads_limit"),
        balances=f.amounts(body, "balances"),
        progress=progress(f.field(body, "progress", dict)),
        replayed=replayed,
    )


def battle_pass(body: Json) -> m.BattlePass:
    return m.BattlePass(
        player_id=f.text(body, "player_id"),
        season=f.text(body, "season"),
        season_start=f.day(body, "season_start"),
        season_end=f.day(body, "season_end"),
        xp=f.integer(body, "xp"),
        level=f.integer(body, "level"),
        xp_to_next_level=f.integer(body, "xp_to_next_level"),
        rewards_granted=f.many(
            body,
            "rewards_granted",
            lambda b: m.GrantedLevel(f.integer(b, "level"), f.amounts(b, "reward")),
        ),
    )


def tool_of_the_day(body: Json) -> m.ToolOfTheDay:
    return m.ToolOfTheDay(
        f.text(body, "tool"), f.day(body, "game_day"), f.time(body, "next_reset_at")
    )


def player_settings(body: Json) -> m.PlayerSettings:
    return m.PlayerSettings(f.text(body, "player_id"), f.optional(body, "timezone", str))


def ban(body: Json) -> m.Ban:
    return m.Ban(
        id=f.text(body, "id"),
        kind=f.text(body, "kind"),
        target=f.text(body, "target"),
        reason=f.text(body, "reason"),
        created_at=f.time(body, "created_at"),
        expires_at=f.optional_time(body, "expires_at"),
        created_by=f.text(body, "created_by"),
    )


def bans(body: Json) -> tuple[m.Ban, ...]:
    return f.many(body, "bans", ban)


def batch(body: Json, result: Callable[[Json, bool], T]) -> tuple[m.BatchItem[T], ...]:
    """A batch answer: each item's result decoded, or its error as its exception."""

    def item(b: Json) -> m.BatchItem[T]:
        status = f.integer(b, "status")
        if b.get("error") is not None:
            error = error_from_answer(
                status, {"error": b["error"]}, None, b.get("replayed") is True
            )
            return m.BatchItem(status, None, error)
        replayed = f.field(b, "replayed", bool)
        return m.BatchItem(status, result(f.field(b, "result", dict), replayed), None)

    return f.many(body, "results", item)
