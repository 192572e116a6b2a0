"""From the ranking calls' JSON to `models`: boards and leagues, for both clients.

A board's page, a player's standing and ranks, a league's cohort and a player's league.
The fields are read with the checked readers of `decode_fields`, so a body without a
required field raises `UnexpectedAnswer` here too; `decode` re-exports these decoders.
"""

from __future__ import annotations

from typing import Any

from questboard_client import decode_fields as f
from questboard_client import models as m
from questboard_client.decode_fields import Json


def entry(body: Json) -> m.Entry:
    return m.Entry(
        rank=f.integer(body, "rank"),
        player_id=f.text(body, "player_id"),
        score=f.integer(body, "score"),
        exams=f.integer(body, "exams"),
        questions=f.integer(body, "questions"),
        correct=f.integer(body, "correct"),
        accuracy=f.field(body, "accuracy", float),
        rank_previous=f.optional(body, "rank_previous", int),
        movement=f.text(body, "movement"),
        prize=None if body.get("prize") is None else f.amounts(body, "prize"),
        prize_refused=prize_refused(body),
    )


def prize_refused(body: Json) -> m.PrizeRefused | None:
    """A closed period's `prize_refused` of an entry or member: None when absent (the
    current period, or a server before the field) or null (paid, or no prize)."""
    refused = f.optional(body, "prize_refused", dict)
    if refused is None:
        return None
    return m.PrizeRefused(f.amounts(refused, "prize"), f.text(refused, "code"))


def _board_fields(body: Json) -> dict[str, Any]:
    return {
        "board": f.text(body, "board"),
        "category": f.optional(body, "category", str),
        "period": f.text(body, "period"),
        "next_reset_at": f.optional_time(body, "next_reset_at"),
        "ended_at": f.optional_time(body, "ended_at"),
        "total_players": f.integer(body, "total_players"),
    }


def board_page(body: Json) -> m.BoardPage:
    return m.BoardPage(
        **_board_fields(body),
        source=f.text(body, "source"),
        snapshot_at=f.optional_time(body, "snapshot_at"),
        entries=f.many(body, "entries", entry),
    )


def standing(body: Json) -> m.Standing:
    return m.Standing(
        **_board_fields(body),
        entry=entry(f.field(body, "entry", dict)),
        above=f.many(body, "above", entry),
        below=f.many(body, "below", entry),
    )


def player_ranks(body: Json) -> m.PlayerRanks:
    def ranked(b: Json) -> m.RankedBoard:
        return m.RankedBoard(**_board_fields(b), entry=entry(f.field(b, "entry", dict)))

    return m.PlayerRanks(f.text(body, "player_id"), f.many(body, "boards", ranked))


def league_cohort(body: Json) -> m.LeagueCohort:
    return m.LeagueCohort(
        cohort_id=f.text(body, "cohort_id"),
        period_type=f.text(body, "period_type"),
        period=f.text(body, "period"),
        tier=f.text(body, "tier"),
        size=f.integer(body, "size"),
        promotion_zone=f.integer(body, "promotion_zone"),
        relegation_zone=f.integer(body, "relegation_zone"),
        members=f.many(
            body,
            "members",
            lambda b: m.LeagueMember(
                f.text(b, "player_id"),
                f.integer(b, "rank"),
                f.integer(b, "position"),
                f.integer(b, "score"),
                f.optional(b, "zone", str),
                None if b.get("prize") is None else f.amounts(b, "prize"),
                prize_refused(b),
            ),
        ),
    )


def player_league(body: Json) -> m.PlayerLeague:
    cohort = f.optional(body, "cohort", dict)
    return m.PlayerLeague(
        player_id=f.text(body, "player_id"),
        period_type=f.text(body, "period_type"),
        period=f.text(body, "period"),
        ends_at=f.time(body, "ends_at"),
        tier=f.text(body, "tier"),
        cohort=None if cohort is None else league_cohort(cohort),
    )
