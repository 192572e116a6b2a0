"""From the API's JSON to the dataclasses of `models`, shared by both clients.

Each decoder takes the parsed body (and, for state-changing calls, whether the answer
was a replay). A body without a required field raises `UnexpectedAnswer`: the server
and this client disagree, which retrying does not fix.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from questboard_client import models as m
from questboard_client.errors import QuestboardError, error_from_answer

T = TypeVar("T")
Json = dict[str, Any]


class UnexpectedAnswer(QuestboardError):
    """A success whose body does not have the shape this client knows."""

    code = "unexpected_answer"


def _field(body: Json, name: str, kind: type[T]) -> T:
    value = body.get(name) if isinstance(body, dict) else None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UnexpectedAnswer(f"The answer's {name!r} is not a {kind.__name__}: {value!r}.")
    return value


def _optional(body: Json, name: str, kind: type[T]) -> T | None:
    present = isinstance(body, dict) and body.get(name) is not None
    return _field(body, name, kind) if present else None


def _text(body: Json, name: str) -> str:
    return _field(body, name, str)


def _int(body: Json, name: str) -> int:
    return _field(body, name, int)


def _amounts(body: Json, name: str) -> m.Amounts:
    amounts = _field(body, name, dict)
    for resource, amount in amounts.items():
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise UnexpectedAnswer(
                f"The answer's {name}[{resource!r}] is not an amount: {amount!r}."
            )
    return dict(amounts)


def _parsed(name: str, text: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(text)
    except ValueError:
        raise UnexpectedAnswer(f"The answer's {name!r} is not a date or time: {text!r}.") from None


def _time(body: Json, name: str) -> datetime:
    return _parsed(name, _text(body, name), datetime.fromisoformat)


def _optional_time(body: Json, name: str) -> datetime | None:
    text = _optional(body, name, str)
    return None if text is None else _parsed(name, text, datetime.fromisoformat)


def _day(body: Json, name: str) -> date:
    return _parsed(name, _text(body, name), date.fromisoformat)


def _many(body: Json, name: str, decode: Callable[[Json], T]) -> tuple[T, ...]:
    return tuple(decode(item) for item in _field(body, name, list))


def health(body: Json) -> m.Health:
    return m.Health(_text(body, "status"), _text(body, "redis"), _time(body, "now"))


def catalog(body: Json) -> m.Catalog:
    def item(b: Json) -> m.CatalogItem:
        return m.CatalogItem(
            _text(b, "item"),
            _text(b, "title"),
            _amounts(b, "price"),
            _amounts(b, "gives"),
            _int(b, "max_quantity"),
        )

    return m.Catalog(_many(body, "items", item))


def wallet(body: Json) -> m.Wallet:
    return m.Wallet(_text(body, "player_id"), _amounts(body, "balances"))


def progress(body: Json) -> m.Progress:
    bonus = _optional(body, "daily_bonus", dict)
    xp = _optional(body, "xp", dict)
    return m.Progress(
        daily_bonus=None
        if bonus is None
        else m.DailyBonus(
            _int(bonus, "streak"),
            _amounts(bonus, "reward"),
            _optional(bonus, "transaction_id", str),
        ),
        missions=_many(body, "missions", _mission_progress),
        xp=None
        if xp is None
        else m.Xp(
            _text(xp, "season"),
            _int(xp, "gained"),
            _int(xp, "total"),
            _int(xp, "level"),
            tuple(int(level) for level in _field(xp, "levels_gained", list)),
        ),
        level_rewards=_many(body, "level_rewards", _level_reward),
        streak=_int(body, "streak"),
        freezes_used=_optional(body, "freezes_used", int) or 0,
    )


def _mission_progress(body: Json) -> m.MissionProgress:
    return m.MissionProgress(
        id=_text(body, "id"),
        progress=_int(body, "progress"),
        target=_int(body, "target"),
        completed=_field(body, "completed", bool),
        xp=_optional(body, "xp", int),
        reward=None if body.get("reward") is None else _amounts(body, "reward"),
        transaction_id=_optional(body, "transaction_id", str),
    )


def _level_reward(body: Json) -> m.LevelReward:
    return m.LevelReward(
        _int(body, "level"), _amounts(body, "reward"), _optional(body, "transaction_id", str)
    )


def purchase(body: Json, replayed: bool) -> m.Purchase:
    return m.Purchase(
        transaction_id=_text(body, "transaction_id"),
        item=_text(body, "item"),
        quantity=_int(body, "quantity"),
        cost=_amounts(body, "cost"),
        balances=_amounts(body, "balances"),
        progress=progress(_field(body, "progress", dict)),
        replayed=replayed,
    )


def transaction(body: Json, replayed: bool) -> m.Transaction:
    return m.Transaction(_text(body, "transaction_id"), _amounts(body, "balances"), replayed)


def ledger_page(body: Json) -> m.LedgerPage:
    def entry(b: Json) -> m.LedgerEntry:
        return m.LedgerEntry(
            transaction_id=_text(b, "transaction_id"),
            kind=_text(b, "kind"),
            deltas=_amounts(b, "deltas"),
            balances_after=_amounts(b, "balances_after"),
            reason=_text(b, "reason"),
            at=_time(b, "at"),
        )

    return m.LedgerPage(_text(body, "player_id"), _many(body, "entries", entry))


def exam_summary(body: Json, replayed: bool) -> m.ExamSummary:
    def board(b: Json) -> m.BoardResult:
        return m.BoardResult(
            board=_text(b, "board"),
            category=_optional(b, "category", str),
            period=_text(b, "period"),
            score=_int(b, "score"),
            rank=_int(b, "rank"),
            exams=_int(b, "exams"),
            accuracy=_field(b, "accuracy", float),
        )

    return m.ExamSummary(
        exam_id=_text(body, "exam_id"),
        player_id=_text(body, "player_id"),
        category_id=_text(body, "category_id"),
        score=_int(body, "score"),
        total_questions=_int(body, "total_questions"),
        correct_answers=_int(body, "correct_answers"),
        boards=_many(body, "boards", board),
        progress=progress(_field(body, "progress", dict)),
        replayed=replayed,
    )


def entry(body: Json) -> m.Entry:
    return m.Entry(
        rank=_int(body, "rank"),
        player_id=_text(body, "player_id"),
        score=_int(body, "score"),
        exams=_int(body, "exams"),
        questions=_int(body, "questions"),
        correct=_int(body, "correct"),
        accuracy=_field(body, "accuracy", float),
        rank_previous=_optional(body, "rank_previous", int),
        movement=_text(body, "movement"),
        prize=None if body.get("prize") is None else _amounts(body, "prize"),
    )


def _board_fields(body: Json) -> dict[str, Any]:
    return {
        "board": _text(body, "board"),
        "category": _optional(body, "category", str),
        "period": _text(body, "period"),
        "next_reset_at": _optional_time(body, "next_reset_at"),
        "ended_at": _optional_time(body, "ended_at"),
        "total_players": _int(body, "total_players"),
    }


def board_page(body: Json) -> m.BoardPage:
    return m.BoardPage(
        **_board_fields(body),
        source=_text(body, "source"),
        snapshot_at=_optional_time(body, "snapshot_at"),
        entries=_many(body, "entries", entry),
    )


def standing(body: Json) -> m.Standing:
    return m.Standing(
        **_board_fields(body),
        entry=entry(_field(body, "entry", dict)),
        above=_many(body, "above", entry),
        below=_many(body, "below", entry),
    )


def player_ranks(body: Json) -> m.PlayerRanks:
    def ranked(b: Json) -> m.RankedBoard:
        return m.RankedBoard(**_board_fields(b), entry=entry(_field(b, "entry", dict)))

    return m.PlayerRanks(_text(body, "player_id"), _many(body, "boards", ranked))


def _mission_state(body: Json) -> m.MissionState:
    return m.MissionState(
        id=_text(body, "id"),
        title=_text(body, "title"),
        event=_text(body, "event"),
        progress=_int(body, "progress"),
        target=_int(body, "target"),
        completed=_field(body, "completed", bool),
        xp=_int(body, "xp"),
        reward=_amounts(body, "reward"),
    )


def missions(body: Json) -> m.Missions:
    return m.Missions(
        _text(body, "player_id"),
        _day(body, "game_day"),
        _time(body, "next_reset_at"),
        _many(body, "missions", _mission_state),
    )


def daily(body: Json) -> m.Daily:
    login, ads = _field(body, "login", dict), _field(body, "ads", dict)
    return m.Daily(
        player_id=_text(body, "player_id"),
        game_day=_day(body, "game_day"),
        next_reset_at=_time(body, "next_reset_at"),
        missions=_many(body, "missions", _mission_state),
        login_claimed=_field(login, "claimed", bool),
        streak=_int(login, "streak"),
        ads_watched=_int(ads, "watched"),
        ads_limit=_int(ads, "limit"),
        streak_repair=_repair_offer(_optional(body, "streak_repair", dict)),
    )


def _repair_offer(body: Json | None) -> m.StreakRepairOffer | None:
    if body is None:
        return None
    return m.StreakRepairOffer(
        lost=_int(body, "lost"),
        streak=_int(body, "streak"),
        price=_amounts(body, "price"),
        repair_by=_time(body, "repair_by"),
    )


def streak_repair(body: Json, replayed: bool) -> m.StreakRepair:
    return m.StreakRepair(
        transaction_id=_text(body, "transaction_id"),
        streak=_int(body, "streak"),
        lost=_int(body, "lost"),
        best=_int(body, "best"),
        price=_amounts(body, "price"),
        balances=_amounts(body, "balances"),
        replayed=replayed,
    )


def login(body: Json) -> m.Login:
    return m.Login(
        claimed=_field(body, "claimed", bool),
        streak=_int(body, "streak"),
        reward=_amounts(body, "reward"),
        next_claim_at=_time(body, "next_claim_at"),
        balances=_amounts(body, "balances"),
        progress=progress(_field(body, "progress", dict)),
    )


def ad_reward(body: Json, replayed: bool) -> m.AdReward:
    return m.AdReward(
        transaction_id=_text(body, "transaction_id"),
        reward=_amounts(body, "reward"),
        ads_watched=_int(body, "ads_watched"),
        ads_limit=_int(body, "ads_limit"),
        balances=_amounts(body, "balances"),
        progress=progress(_field(body, "progress", dict)),
        replayed=replayed,
    )


def battle_pass(body: Json) -> m.BattlePass:
    return m.BattlePass(
        player_id=_text(body, "player_id"),
        season=_text(body, "season"),
        season_start=_day(body, "season_start"),
        season_end=_day(body, "season_end"),
        xp=_int(body, "xp"),
        level=_int(body, "level"),
        xp_to_next_level=_int(body, "xp_to_next_level"),
        rewards_granted=_many(
            body,
            "rewards_granted",
            lambda b: m.GrantedLevel(_int(b, "level"), _amounts(b, "reward")),
        ),
    )


def league_cohort(body: Json) -> m.LeagueCohort:
    return m.LeagueCohort(
        cohort_id=_text(body, "cohort_id"),
        period_type=_text(body, "period_type"),
        period=_text(body, "period"),
        tier=_text(body, "tier"),
        size=_int(body, "size"),
        promotion_zone=_int(body, "promotion_zone"),
        relegation_zone=_int(body, "relegation_zone"),
        members=_many(
            body,
            "members",
            lambda b: m.LeagueMember(
                _text(b, "player_id"),
                _int(b, "rank"),
                _int(b, "position"),
                _int(b, "score"),
                _text(b, "zone"),
                None if b.get("prize") is None else _amounts(b, "prize"),
            ),
        ),
    )


def player_league(body: Json) -> m.PlayerLeague:
    cohort = _optional(body, "cohort", dict)
    return m.PlayerLeague(
        player_id=_text(body, "player_id"),
        period_type=_text(body, "period_type"),
        period=_text(body, "period"),
        ends_at=_time(body, "ends_at"),
        tier=_text(body, "tier"),
        cohort=None if cohort is None else league_cohort(cohort),
    )


def tool_of_the_day(body: Json) -> m.ToolOfTheDay:
    return m.ToolOfTheDay(_text(body, "tool"), _day(body, "game_day"), _time(body, "next_reset_at"))


def player_settings(body: Json) -> m.PlayerSettings:
    return m.PlayerSettings(_text(body, "player_id"), _optional(body, "timezone", str))


def ban(body: Json) -> m.Ban:
    return m.Ban(
        id=_text(body, "id"),
        kind=_text(body, "kind"),
        target=_text(body, "target"),
        reason=_text(body, "reason"),
        created_at=_time(body, "created_at"),
        expires_at=_optional_time(body, "expires_at"),
        created_by=_text(body, "created_by"),
    )


def bans(body: Json) -> tuple[m.Ban, ...]:
    return _many(body, "bans", ban)


def batch(body: Json, result: Callable[[Json, bool], T]) -> tuple[m.BatchItem[T], ...]:
    """A batch answer: each item's result decoded, or its error as its exception."""

    def item(b: Json) -> m.BatchItem[T]:
        status = _int(b, "status")
        if b.get("error") is not None:
            error = error_from_answer(status, {"error": b["error"]}, None)
            return m.BatchItem(status, None, error)
        replayed = _field(b, "replayed", bool)
        return m.BatchItem(status, result(_field(b, "result", dict), replayed), None)

    return _many(body, "results", item)
