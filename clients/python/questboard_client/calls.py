"""The operations of the API, one function each, for both clients: each builds the
operation's `Call` (`questboard_client.call`: what to send, how to decode it).

The sync and async clients differ only in how they send a `Call` and wait between
attempts. A state-changing call gets its Idempotency-Key when it is built (the
caller's, or a new random one), so every retry of that one logical call sends the
same key and the server applies it once. `Answer`, `Call` and `new_idempotency_key`
are re-exported here from `questboard_client.call`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from questboard_client import decode as d
from questboard_client import models as m
from questboard_client.call import Answer as Answer
from questboard_client.call import Call as Call
from questboard_client.call import Params as Params
from questboard_client.call import build, sendable
from questboard_client.call import new_idempotency_key as new_idempotency_key


def health() -> Call[m.Health]:
    """The service's state: its 503 with a health body ("degraded") is a result too."""
    return build("getHealth", lambda a: d.health(a.body), results_on=frozenset({503}))


def catalog() -> Call[m.Catalog]:
    return build("getCatalog", lambda a: d.catalog(a.body))


def wallet(player_id: str, player_ip: str | None) -> Call[m.Wallet]:
    path = {"player_id": player_id}
    return build("getWallet", lambda a: d.wallet(a.body), path=path, player_ip=player_ip)


def purchase(
    player_id: str,
    item: str,
    quantity: int,
    expected_price: Mapping[str, int] | None,
    idempotency_key: str | None,
    player_ip: str | None,
) -> Call[m.Purchase]:
    body: dict[str, Any] = {"item": item, "quantity": quantity}
    if expected_price is not None:
        body["expected_price"] = dict(expected_price)
    return build(
        "createPurchase",
        lambda a: d.purchase(a.body, a.replayed),
        path={"player_id": player_id},
        json=body,
        idempotency_key=idempotency_key,
        player_ip=player_ip,
    )


def grant(
    player_id: str, resources: Mapping[str, int], reason: str, idempotency_key: str | None
) -> Call[m.Transaction]:
    return build(
        "createGrant",
        lambda a: d.transaction(a.body, a.replayed),
        path={"player_id": player_id},
        json={"resources": dict(resources), "reason": reason},
        idempotency_key=idempotency_key,
    )


def ledger_page(
    player_id: str, limit: int, before: str | None, player_ip: str | None
) -> Call[m.LedgerPage]:
    return build(
        "listLedgerEntries",
        lambda a: d.ledger_page(a.body),
        path={"player_id": player_id},
        params={"limit": limit, "before": before},
        player_ip=player_ip,
    )


def record_exam(
    player_id: str,
    exam_id: str,
    category_id: str,
    score: int,
    total_questions: int,
    correct_answers: int,
    player_ip: str | None,
) -> Call[m.ExamSummary]:
    """The exam_id is the exam's idempotency key: the server counts an attempt once.

    It is also sent as the Idempotency-Key when a header can carry it; one that cannot
    is left to the server to refuse in the body (400, details.exam_id)."""
    return build(
        "recordExam",
        lambda a: d.exam_summary(a.body, a.replayed),
        path={"player_id": player_id},
        json={
            "exam_id": exam_id,
            "category_id": category_id,
            "score": score,
            "total_questions": total_questions,
            "correct_answers": correct_answers,
        },
        idempotency_key=exam_id if sendable(exam_id) else None,
        player_ip=player_ip,
    )


def record_exam_batch(
    attempts: Sequence[m.ExamAttempt],
) -> Call[tuple[m.BatchItem[m.ExamSummary], ...]]:
    """Many players' exams in one request, each counted once by its own exam_id."""
    items = [
        {
            "player_id": a.player_id,
            "exam_id": a.exam_id,
            "category_id": a.category_id,
            "score": a.score,
            "total_questions": a.total_questions,
            "correct_answers": a.correct_answers,
        }
        for a in attempts
    ]
    return build(
        "recordExamBatch", lambda a: d.batch(a.body, d.exam_summary), json={"exams": items}
    )


def grant_batch(orders: Sequence[m.GrantOrder]) -> Call[tuple[m.BatchItem[m.Transaction], ...]]:
    """Many grants in one request, each applied once by its own key (made here, once,
    for an order without one, so every retry of the call repeats it)."""
    items = [
        {
            "player_id": o.player_id,
            "resources": dict(o.resources),
            "reason": o.reason,
            "idempotency_key": o.idempotency_key or new_idempotency_key(),
        }
        for o in orders
    ]
    return build(
        "createGrantBatch", lambda a: d.batch(a.body, d.transaction), json={"grants": items}
    )


def wallets(player_ids: Sequence[str]) -> Call[tuple[m.BatchItem[m.Wallet], ...]]:
    """Up to 100 players' wallets, one per distinct id, in the order first named."""
    return build(
        "listWallets",
        lambda a: d.batch(a.body, lambda body, _: d.wallet(body)),
        params={"player_id": list(player_ids)},
    )


def leaderboard(
    period_type: str,
    category: str | None,
    period: str | None,
    limit: int,
    offset: int,
    source: str,
    player_ip: str | None,
) -> Call[m.BoardPage]:
    return build(
        "listLeaderboard",
        lambda a: d.board_page(a.body),
        path={"period_type": period_type},
        params={
            "category": category,
            "period": period,
            "limit": limit,
            "offset": offset,
            "source": source,
        },
        player_ip=player_ip,
    )


def around_me(
    period_type: str,
    player_id: str,
    category: str | None,
    period: str | None,
    around: int,
    player_ip: str | None,
) -> Call[m.Standing]:
    return build(
        "getLeaderboardStanding",
        lambda a: d.standing(a.body),
        path={"period_type": period_type, "player_id": player_id},
        params={"category": category, "period": period, "around": around},
        player_ip=player_ip,
    )


def player_ranks(player_id: str, player_ip: str | None) -> Call[m.PlayerRanks]:
    return build(
        "listPlayerRanks",
        lambda a: d.player_ranks(a.body),
        path={"player_id": player_id},
        player_ip=player_ip,
    )


def daily(player_id: str, player_ip: str | None) -> Call[m.Daily]:
    path = {"player_id": player_id}
    return build("getDaily", lambda a: d.daily(a.body), path=path, player_ip=player_ip)


def missions(player_id: str, player_ip: str | None) -> Call[m.Missions]:
    path = {"player_id": player_id}
    return build("listMissions", lambda a: d.missions(a.body), path=path, player_ip=player_ip)


def login(
    player_id: str, player_ip: str | None, idempotency_key: str | None = None
) -> Call[m.Login]:
    """A login claims at most once a game day; its retries repeat the call's key (the
    caller's, or one made for the call), so one whose first answer was lost is
    answered that answer, the bonus included, also when sent again later with it."""
    return build(
        "claimLogin",
        lambda a: d.login(a.body, a.replayed),
        path={"player_id": player_id},
        idempotency_key=idempotency_key,
        player_ip=player_ip,
    )


def ad_reward(
    player_id: str, idempotency_key: str | None, player_ip: str | None
) -> Call[m.AdReward]:
    return build(
        "createAdReward",
        lambda a: d.ad_reward(a.body, a.replayed),
        path={"player_id": player_id},
        json={},
        idempotency_key=idempotency_key,
        player_ip=player_ip,
    )


def repair_streak(
    player_id: str, idempotency_key: str | None, player_ip: str | None
) -> Call[m.StreakRepair]:
    return build(
        "repairStreak",
        lambda a: d.streak_repair(a.body, a.replayed),
        path={"player_id": player_id},
        json={},
        idempotency_key=idempotency_key,
        player_ip=player_ip,
    )


def battle_pass(player_id: str, season: str | None, player_ip: str | None) -> Call[m.BattlePass]:
    return build(
        "getBattlePass",
        lambda a: d.battle_pass(a.body),
        path={"player_id": player_id},
        params={"season": season},
        player_ip=player_ip,
    )


def player_league(player_id: str, player_ip: str | None) -> Call[m.PlayerLeague]:
    return build(
        "getPlayerLeague",
        lambda a: d.player_league(a.body),
        path={"player_id": player_id},
        player_ip=player_ip,
    )


def league_cohort(period: str, cohort_id: str) -> Call[m.LeagueCohort]:
    return build(
        "getLeagueCohort",
        lambda a: d.league_cohort(a.body),
        path={"period": period, "cohort_id": cohort_id},
    )


def get_settings(player_id: str, player_ip: str | None) -> Call[m.PlayerSettings]:
    path = {"player_id": player_id}
    return build(
        "getPlayerSettings", lambda a: d.player_settings(a.body), path=path, player_ip=player_ip
    )


def put_settings(
    player_id: str, timezone: str | None, player_ip: str | None
) -> Call[m.PlayerSettings]:
    """Setting the same zone again changes nothing: a retry is safe."""
    return build(
        "setPlayerSettings",
        lambda a: d.player_settings(a.body),
        path={"player_id": player_id},
        json={"timezone": timezone},
        player_ip=player_ip,
    )


def tool_of_the_day(player_ip: str | None) -> Call[m.ToolOfTheDay]:
    return build("getToolOfTheDay", lambda a: d.tool_of_the_day(a.body), player_ip=player_ip)


def set_tool_of_the_day(tool: str) -> Call[m.ToolOfTheDay]:
    return build("setToolOfTheDay", lambda a: d.tool_of_the_day(a.body), json={"tool": tool})


def _placed(answer: Answer) -> m.PlacedBan:
    return m.PlacedBan(d.ban(answer.body), created=answer.status == 201)


def ban_ip(ip: str, reason: str, expires_in_seconds: int | None) -> Call[m.PlacedBan]:
    """Placing a ban again extends the one in force (200), so a retry is harmless."""
    body = {"ip": ip, "reason": reason, "expires_in_seconds": expires_in_seconds}
    return build("createIpBan", _placed, json=body)


def ip_bans() -> Call[tuple[m.Ban, ...]]:
    return build("listIpBans", lambda a: d.bans(a.body))


def lift_ip_ban(ban_id: str) -> Call[None]:
    return build(
        "deleteIpBan", lambda a: None, path={"ban_id": ban_id}, not_found_on_retry_is_done=True
    )


def ban_player(player_id: str, reason: str, expires_in_seconds: int | None) -> Call[m.PlacedBan]:
    body = {"player_id": player_id, "reason": reason, "expires_in_seconds": expires_in_seconds}
    return build("createPlayerBan", _placed, json=body)


def player_bans() -> Call[tuple[m.Ban, ...]]:
    return build("listPlayerBans", lambda a: d.bans(a.body))


def lift_player_ban(ban_id: str) -> Call[None]:
    return build(
        "deletePlayerBan", lambda a: None, path={"ban_id": ban_id}, not_found_on_retry_is_done=True
    )


def next_ledger_before(page: m.LedgerPage, limit: int) -> str | None:
    """Where the ledger's next page starts; None after the last page."""
    if len(page.entries) < limit:
        return None
    return page.entries[-1].transaction_id
