"""`AsyncQuestboard`: the asyncio client (one pooled httpx.AsyncClient per instance).

Every method builds its request with `calls`, sends it with retries, and decodes the
answer into a dataclass of `models`; errors raise the classes of `errors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

import httpx

from questboard_client import calls
from questboard_client import models as m
from questboard_client.client import checked_base_url, client_headers
from questboard_client.errors import QuestboardError
from questboard_client.retry import RetryPolicy, Tries, connection_failure, unsendable_url

T = TypeVar("T")


class AsyncQuestboard:
    """The asyncio twin of `Questboard`: the same methods, awaited.

    Args:
        base_url: the service's root, e.g. "https://questboard.example.com";
            ValidationError when it is not http(s) with a host (checked_base_url).
        api_key: a server key (or an admin key, for grants, bans and the tool override);
            ValidationError when a header cannot carry it (client_headers).
        timeout: each attempt's httpx timeout: the seconds it waits at most to connect,
            to send, and for each part of the answer (and never past the deadline).
        retry: how connection failures, 503 and 429 are retried.
        transport: an httpx transport (tests, proxies); default: pooled keep-alive.
        sleep: waits between attempts (asyncio.sleep).

    Use it as an async context manager, or await `close()`, to release its connections.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=checked_base_url(base_url),
            headers=client_headers(api_key),
            timeout=timeout,
            transport=transport,
        )
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncQuestboard:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def send(self, call: calls.Call[T]) -> T:
        """Send one logical call, retrying it (with the same Idempotency-Key) as allowed."""
        tries = Tries(call, self._retry, self._timeout)
        while True:
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=dict(call.params),
                    json=call.json,
                    headers=call.headers(),
                    timeout=tries.next_timeout(),
                )
                return tries.result(response.status_code, response.headers, response.content)
            except httpx.InvalidURL as error:  # too long to send: no retry would help
                raise unsendable_url(error) from None
            except httpx.RequestError as error:  # no answer: refused, timed out, cut off
                delay = tries.wait_after(connection_failure(error))
            except QuestboardError as error:
                delay = tries.wait_after(error)
            await self._sleep(delay)

    # Economy ------------------------------------------------------------------------

    async def catalog(self) -> m.Catalog:
        """What players can buy, at the server's prices."""
        return await self.send(calls.catalog())

    async def wallet(self, player_id: str, *, player_ip: str | None = None) -> m.Wallet:
        return await self.send(calls.wallet(player_id, player_ip))

    async def purchase(
        self,
        player_id: str,
        item: str,
        quantity: int = 1,
        *,
        expected_price: Mapping[str, int] | None = None,
        idempotency_key: str | None = None,
        player_ip: str | None = None,
    ) -> m.Purchase:
        """Buy `quantity` of `item`, exactly once per idempotency key.

        Raises:
            InsufficientFunds, PriceChanged (expected_price is not the unit price),
            UnknownItem, IdempotencyKeyReused.
        """
        call = calls.purchase(player_id, item, quantity, expected_price, idempotency_key, player_ip)
        return await self.send(call)

    async def grant(
        self,
        player_id: str,
        resources: Mapping[str, int],
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> m.Transaction:
        """Admin: add (or, with negative amounts, remove) resources."""
        return await self.send(calls.grant(player_id, resources, reason, idempotency_key))

    async def ledger_page(
        self,
        player_id: str,
        *,
        limit: int = 50,
        before: str | None = None,
        player_ip: str | None = None,
    ) -> m.LedgerPage:
        return await self.send(calls.ledger_page(player_id, limit, before, player_ip))

    async def ledger(
        self,
        player_id: str,
        *,
        page_size: int = 50,
        before: str | None = None,
        player_ip: str | None = None,
    ) -> AsyncIterator[m.LedgerEntry]:
        """Every ledger entry of the player, newest first, a page at a time."""
        while True:
            page = await self.ledger_page(
                player_id, limit=page_size, before=before, player_ip=player_ip
            )
            for entry in page.entries:
                yield entry
            before = calls.next_ledger_before(page, page_size)
            if before is None:
                return

    # Exams and leaderboards ---------------------------------------------------------

    async def record_exam(
        self,
        player_id: str,
        exam_id: str,
        category_id: str,
        score: int,
        total_questions: int,
        correct_answers: int,
        *,
        player_ip: str | None = None,
    ) -> m.ExamSummary:
        """Count an exam attempt on every current board, once per exam_id."""
        call = calls.record_exam(
            player_id, exam_id, category_id, score, total_questions, correct_answers, player_ip
        )
        return await self.send(call)

    async def record_exams(
        self, attempts: Sequence[m.ExamAttempt]
    ) -> tuple[m.BatchItem[m.ExamSummary], ...]:
        """Up to 500 exams of many players in one request, each counted once by its
        exam_id; each item's summary (`replayed` for an exam counted before) or error."""
        return await self.send(calls.record_exam_batch(attempts))

    async def grant_batch(
        self, orders: Sequence[m.GrantOrder]
    ) -> tuple[m.BatchItem[m.Transaction], ...]:
        """Admin: up to 100 grants in one request, each applied once by its own key."""
        return await self.send(calls.grant_batch(orders))

    async def wallets(self, player_ids: Sequence[str]) -> tuple[m.BatchItem[m.Wallet], ...]:
        """Up to 100 players' balances in one request (a banned player's item: Banned)."""
        return await self.send(calls.wallets(player_ids))

    async def leaderboard(
        self,
        period_type: str,
        *,
        category: str | None = None,
        period: str | None = None,
        limit: int = 10,
        offset: int = 0,
        source: str = "live",
        player_ip: str | None = None,
    ) -> m.BoardPage:
        """The top of a weekly, monthly or yearly board (category None: global)."""
        call = calls.leaderboard(period_type, category, period, limit, offset, source, player_ip)
        return await self.send(call)

    async def around_me(
        self,
        period_type: str,
        player_id: str,
        *,
        category: str | None = None,
        period: str | None = None,
        around: int = 5,
        player_ip: str | None = None,
    ) -> m.Standing:
        """The player's entry and `around` players above and below (NotRanked if none)."""
        call = calls.around_me(period_type, player_id, category, period, around, player_ip)
        return await self.send(call)

    async def player_ranks(self, player_id: str, *, player_ip: str | None = None) -> m.PlayerRanks:
        return await self.send(calls.player_ranks(player_id, player_ip))

    # The game day -------------------------------------------------------------------

    async def login(
        self,
        player_id: str,
        *,
        idempotency_key: str | None = None,
        player_ip: str | None = None,
    ) -> m.Login:
        """Claim the day's login bonus; later calls that day answer claimed=False, but
        one with the key of an earlier login answers that login again (replayed)."""
        return await self.send(calls.login(player_id, player_ip, idempotency_key))

    async def daily(self, player_id: str, *, player_ip: str | None = None) -> m.Daily:
        return await self.send(calls.daily(player_id, player_ip))

    async def missions(self, player_id: str, *, player_ip: str | None = None) -> m.Missions:
        return await self.send(calls.missions(player_id, player_ip))

    async def ad_reward(
        self,
        player_id: str,
        *,
        idempotency_key: str | None = None,
        player_ip: str | None = None,
    ) -> m.AdReward:
        """The reward of one watched ad (DailyLimitReached past the day's cap)."""
        return await self.send(calls.ad_reward(player_id, idempotency_key, player_ip))

    async def repair_streak(
        self,
        player_id: str,
        *,
        idempotency_key: str | None = None,
        player_ip: str | None = None,
    ) -> m.StreakRepair:
        """Buy back the broken streak `daily(...).streak_repair` offers, once
        (StreakNotRepairable when there is none, InsufficientFunds when short)."""
        return await self.send(calls.repair_streak(player_id, idempotency_key, player_ip))

    async def battle_pass(
        self, player_id: str, *, season: str | None = None, player_ip: str | None = None
    ) -> m.BattlePass:
        return await self.send(calls.battle_pass(player_id, season, player_ip))

    async def player_league(
        self, player_id: str, *, player_ip: str | None = None
    ) -> m.PlayerLeague:
        """The player's tier and, once they have played this period, their cohort."""
        return await self.send(calls.player_league(player_id, player_ip))

    async def league_cohort(self, period: str, cohort_id: str) -> m.LeagueCohort:
        """One cohort's standings ("bronze-12") in a period (NotFound if there is none)."""
        return await self.send(calls.league_cohort(period, cohort_id))

    async def get_settings(
        self, player_id: str, *, player_ip: str | None = None
    ) -> m.PlayerSettings:
        """The player's settings: their time zone (None: the game calendar)."""
        return await self.send(calls.get_settings(player_id, player_ip))

    async def put_settings(
        self, player_id: str, timezone: str | None, *, player_ip: str | None = None
    ) -> m.PlayerSettings:
        """Set the player's IANA time zone ("Asia/Tokyo"; None clears it): their daily
        counters, streak and login bonus then follow their own day (UnknownTimezone when
        there is no such zone)."""
        return await self.send(calls.put_settings(player_id, timezone, player_ip))

    async def tool_of_the_day(self, *, player_ip: str | None = None) -> m.ToolOfTheDay:
        return await self.send(calls.tool_of_the_day(player_ip))

    async def set_tool_of_the_day(self, tool: str) -> m.ToolOfTheDay:
        """Admin: override today's tool."""
        return await self.send(calls.set_tool_of_the_day(tool))

    # Service and bans (admin) -------------------------------------------------------

    async def health(self) -> m.Health:
        return await self.send(calls.health())

    async def ban_ip(
        self, ip: str, reason: str, *, expires_in_seconds: int | None = None
    ) -> m.PlacedBan:
        """Ban an address or CIDR range (None: until lifted)."""
        return await self.send(calls.ban_ip(ip, reason, expires_in_seconds))

    async def ip_bans(self) -> tuple[m.Ban, ...]:
        return await self.send(calls.ip_bans())

    async def lift_ip_ban(self, ban_id: str) -> None:
        await self.send(calls.lift_ip_ban(ban_id))

    async def ban_player(
        self, player_id: str, reason: str, *, expires_in_seconds: int | None = None
    ) -> m.PlacedBan:
        return await self.send(calls.ban_player(player_id, reason, expires_in_seconds))

    async def player_bans(self) -> tuple[m.Ban, ...]:
        return await self.send(calls.player_bans())

    async def lift_player_ban(self, ban_id: str) -> None:
        await self.send(calls.lift_player_ban(ban_id))
