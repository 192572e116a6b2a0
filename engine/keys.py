"""Every Redis key name the engine uses is built here, and only here.

docs/redis-keys.md documents each key for services that read Redis directly.

Hash tags: all keys of one player sit in the hash slot of the player's *shard*
(``{p07}``), together with the shard's outbox stream. A balance change therefore
updates the wallet, the player's ledger, the shard outbox (what the persistence job
drains) and the idempotency record in one Lua call on one slot, so the engine can run
on Redis Cluster. The shard is ``crc32(player_id) % PLAYER_SHARDS`` and its tag
``{p<shard, two digits at least>}``: ``{p00}``..``{p99}``, then ``{p100}`` and up.

The count is the process's, set once at start-up from the PLAYER_SHARDS setting
(engine.runtime.build_engine calls `set_player_shards`; tests use the `player_shards`
fixture); the key functions read it, and `shard_of` stays cached. A deployment keeps
its count until it changes it with `questboard shards migrate` (engine.ops.reshard),
which moves every player key; engine.shards refuses to start on a Redis written with
another count.

Player ids match ``^[A-Za-z0-9_.:-]{1,64}$``; they never contain ``/``, ``{`` or
``}``, so ``/`` separates a player id from a client-chosen suffix unambiguously.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

from engine import addresses

PREFIX = "qb"
DEFAULT_PLAYER_SHARDS = 256
MAX_PLAYER_SHARDS = 16_384  # Redis Cluster's hash slots: more shards could not spread further


def _tags(count: int) -> tuple[str, ...]:
    return tuple(f"{{p{shard:02d}}}" for shard in range(count))


_shards = DEFAULT_PLAYER_SHARDS
_TAGS = _tags(_shards)


def set_player_shards(count: int) -> None:
    """Make `count` the process's number of player shards (once, at start-up)."""
    global _shards, _TAGS
    if not 1 <= count <= MAX_PLAYER_SHARDS:
        raise ValueError(f"the player shard count must be between 1 and {MAX_PLAYER_SHARDS}")
    if count != _shards:
        _shards, _TAGS = count, _tags(count)
        shard_of.cache_clear()


def player_shards() -> int:
    return _shards


@lru_cache(maxsize=65_536)
def shard_of(player_id: str) -> int:
    return zlib.crc32(player_id.encode()) % _shards


def shard_tag(shard: int) -> str:
    return _TAGS[shard]


def player_shards_record() -> str:
    """String: the player shard count the data in Redis was written with ("256"), or
    "migrating:<from>:<to>" while `questboard shards migrate` moves the keys."""
    return f"{PREFIX}:{{meta}}:player-shards"


# Where `player_of` finds the player in what follows a player key's kind: its kinds
# and the key functions below agree (a test builds every key and reads its player).
_PLAYER_AFTER_KIND = {
    "wallet": lambda rest: rest,
    "ledger": lambda rest: rest,
    "tx": lambda rest: rest,
    "streak": lambda rest: rest,
    "idem": lambda rest: rest.split(":", 1)[1].split("/", 1)[0],  # <route>:<player>/<key>
    "exam": lambda rest: rest.split("/", 1)[0],  # <player>/<exam id>
    "lbstats": lambda rest: rest.split(":", 2)[2],  # <type>:<period>:<player>
    "daily": lambda rest: rest.split(":", 1)[1],  # <day>:<player>
    "bp": lambda rest: rest.split(":", 1)[1],  # <season>:<player>
    "pace": lambda rest: rest.rsplit(":", 1)[0],  # <player>:<second>
    "rate": lambda rest: rest.split(":", 1)[1],  # <group>:<player>
    "league": lambda rest: rest,
    "settings": lambda rest: rest,
}


def player_of(key: str) -> str | None:
    """The player a player key belongs to; None for a shard's own key (its outbox).

    Raises:
        ValueError: not a player key, or a kind this module does not build.
    """
    prefix, tag, kind, *rest = key.split(":", 3)
    if prefix != PREFIX or not (tag.startswith("{p") and tag.endswith("}")):
        raise ValueError(f"{key!r} is not a player key")
    if kind == "outbox" and not rest:
        return None
    if kind not in _PLAYER_AFTER_KIND or not rest:
        raise ValueError(f"{key!r}: no player key of kind {kind!r}")
    return _PLAYER_AFTER_KIND[kind](rest[0])


def _player(kind: str, player_id: str) -> str:
    return f"{PREFIX}:{_TAGS[shard_of(player_id)]}:{kind}:{player_id}"


def wallet(player_id: str) -> str:
    """Hash: resource -> balance."""
    return _player("wallet", player_id)


def ledger(player_id: str) -> str:
    """List: the newest of the player's balance changes, newest first, each a JSON array
    `[transaction_id, kind, deltas, balances, reason, at]`: the newest
    `LEDGER_KEEP_ENTRIES`, more while older ones wait to be persisted (engine.economy.ledger)."""
    return _player("tx", player_id)


def idempotency(player_id: str, route: str, key: str) -> str:
    """String (JSON): the recorded outcome of one idempotent request; expires."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:idem:{route}:{player_id}/{key}"


def outbox(shard: int) -> str:
    """Stream: every ledger entry of the shard's players, until persisted to SQL."""
    return f"{PREFIX}:{shard_tag(shard)}:outbox"


def player_outbox(player_id: str) -> str:
    return outbox(shard_of(player_id))


# Leaderboards ---------------------------------------------------------------------
#
# A board is (period type, period, category); "global" is the board of all categories.
# Each board's keys share the board's own hash tag, e.g. {lb:weekly:2026-W48:global}.


def exam(player_id: str, exam_id: str) -> str:
    """Hash: the recorded outcome of one exam attempt (fp, result, summary); expires."""
    return f"{PREFIX}:{_TAGS[shard_of(player_id)]}:exam:{player_id}/{exam_id}"


def player_board_stats(player_id: str, period_type: str, period: str) -> str:
    """Hash: the player's exact aggregates on every board of one period."""
    tag = _TAGS[shard_of(player_id)]
    return f"{PREFIX}:{tag}:lbstats:{period_type}:{period}:{player_id}"


def _board(period_type: str, period: str, category: str, part: str) -> str:
    return f"{PREFIX}:{{lb:{period_type}:{period}:{category}}}:{part}"


def board_scores(period_type: str, period: str, category: str) -> str:
    """Sorted set: player -> composite score (total, then who reached it first)."""
    return _board(period_type, period, category, "scores")


def board_aggregates(period_type: str, period: str, category: str) -> str:
    """Hash: player -> "score:exams:questions:correct", a copy kept beside the scores."""
    return _board(period_type, period, category, "aggregates")


def board_snapshot_ranks(period_type: str, period: str, category: str) -> str:
    """Sorted set: player -> their competition rank at the last snapshot."""
    return _board(period_type, period, category, "snapshot:ranks")


def board_snapshot_ranking(period_type: str, period: str, category: str) -> str:
    """Sorted set: the ranks of a snapshot being taken; replaces snapshot:ranks."""
    return _board(period_type, period, category, "snapshot:ranking")


def board_snapshot_top(period_type: str, period: str, category: str) -> str:
    """String (JSON): the top entries at the last snapshot, with snapshot_at."""
    return _board(period_type, period, category, "snapshot:top")


def board_snapshot_building(period_type: str, period: str, category: str) -> str:
    """Sorted set: the frozen copy of the scores a snapshot ranks; removed when published."""
    return _board(period_type, period, category, "snapshot:building")


def board_index(period_type: str, period: str) -> str:
    """Set: the categories that have a board in this period (besides global)."""
    return f"{PREFIX}:{{lbindex}}:{period_type}:{period}"


# Leagues --------------------------------------------------------------------------
#
# One slot per tier and period, e.g. {lg:weekly:2026-W48:bronze}: the join places a
# player and writes their score in one script on it.


def _league(period_type: str, period: str, tier: str, part: str) -> str:
    return f"{PREFIX}:{{lg:{period_type}:{period}:{tier}}}:{part}"


def league_members(period_type: str, period: str, tier: str) -> str:
    """Hash: player -> their cohort's number in the tier (1, 2, ...)."""
    return _league(period_type, period, tier, "members")


def league_rosters(period_type: str, period: str, tier: str) -> str:
    """Hash: cohort number -> its members, space-separated in arrival order; and
    `last` -> "<number of the last cohort>|<its member count>"."""
    return _league(period_type, period, tier, "rosters")


def league_scores(period_type: str, period: str, tier: str) -> str:
    """Sorted set: player -> composite score (as a board's) of every cohort of the tier."""
    return _league(period_type, period, tier, "scores")


def league_tiers(period_type: str, period: str) -> str:
    """Set: the tiers that have cohorts in this period."""
    return f"{PREFIX}:{{lgindex}}:{period_type}:{period}"


def league_closed(period_type: str, period: str) -> str:
    """String: set when the period's league_close has finished (what it closed, when)."""
    return f"{PREFIX}:{{lgindex}}:{period_type}:{period}:closed"


def payouts_paid(payout: str) -> str:
    """Hash: player -> the transaction that paid their prize of one closed period
    (`payout` names it, e.g. "league:weekly:2026-W48"): engine.leagues.payouts."""
    return f"{PREFIX}:{{payout:{payout}}}:paid"


def payouts_banned(payout: str) -> str:
    """String: the JSON list of players banned when the close of `payout` first ran,
    whom every run of that close skips (engine.leagues.payouts.banned_at_close)."""
    return f"{PREFIX}:{{payout:{payout}}}:banned"


def board_prizes(board: str, period: str) -> str:
    """Hash: player -> {"rank", "score", "prize", "transaction_id"} (JSON) of the prizes a
    closed period's board paid (`board` "weekly:global", "weekly:math"): what its page
    shows; kept as long as the period's board. engine.boards.prizes."""
    return f"{PREFIX}:{{prizes:{board}:{period}}}:paid"


def board_prizes_closed(board: str, period: str) -> str:
    """String: set once every prize of the board's period is paid and recorded."""
    return f"{PREFIX}:{{prizes:{board}:{period}}}:closed"


def player_league(player_id: str) -> str:
    """Hash: the player's league: period, tier (of that period), next (the tier the
    period's close gave them)."""
    return _player("league", player_id)


# Player progression ---------------------------------------------------------------


def daily(player_id: str, game_day: str) -> str:
    """Hash: the player's counters for one game day; expires after the day (plus grace)."""
    return f"{PREFIX}:{_TAGS[shard_of(player_id)]}:daily:{game_day}:{player_id}"


def streak(player_id: str) -> str:
    """Hash: last_day (date ordinal of the last claimed day), streak, best; after a
    claim found the streak broken, with streak repair: lost (its length; 0 once
    repaired) and repair_by (ms)."""
    return _player("streak", player_id)


def settings(player_id: str) -> str:
    """Hash: the player's settings: timezone (an IANA name), days (the start of each of
    the player's local days, engine.progression.timezones), until (the last day it
    covers); no such hash for a player on the game calendar."""
    return _player("settings", player_id)


def battle_pass(player_id: str, season_id: str) -> str:
    """Hash: xp and rewarded_level in one season."""
    return f"{PREFIX}:{_TAGS[shard_of(player_id)]}:bp:{season_id}:{player_id}"


def pace(player_id: str, second: int) -> str:
    """String: the player's state changes within one second (rapid-fire check); 2 s TTL."""
    return f"{PREFIX}:{_TAGS[shard_of(player_id)]}:pace:{player_id}:{second}"


def player_rate_window(player_id: str, group: str) -> str:
    """Sorted set: the player's counted requests in one route group's moving rate-limit
    window (member: time and request, score: ms); expires with the window. The
    state-changing groups count attempted changes, the reads (`default`) every read."""
    return f"{PREFIX}:{_TAGS[shard_of(player_id)]}:rate:{group}:{player_id}"


def address_rate_window(group: str, address: str) -> str:
    """Sorted set: the counted requests from one player address in one route group's
    moving rate-limit window (member: a request's token, score: ms); expires with the
    window.
    An IPv6 address counts with its /64 (engine.addresses.limit_key)."""
    return f"{PREFIX}:rate:{group}:{addresses.limit_key(address)}"


def battle_pass_pattern(season_id: str) -> str:
    """SCAN pattern for every battle-pass hash of one season, in every shard."""
    return f"{PREFIX}:{{p*}}:bp:{season_id}:*"


def player_keys_pattern() -> str:
    """SCAN pattern for every key of every player shard (outboxes included)."""
    return f"{PREFIX}:{{p*"


def missions_of_day(game_day: str) -> str:
    """String (JSON list of mission ids): the day's missions, written by daily_reset."""
    return f"{PREFIX}:{{daily}}:missions:{game_day}"


def tool_of_day(game_day: str) -> str:
    """String: the day's tool, written by daily_reset or an admin override."""
    return f"{PREFIX}:{{daily}}:tool:{game_day}"


def clock_offset() -> str:
    """String: milliseconds added to real time, when the QA clock override is on."""
    return f"{PREFIX}:{{clock}}:offset"


# Security -------------------------------------------------------------------------
#
# Bans, violation counters and the security event stream share the {sec} hash tag:
# one ban check is one round trip, and a violation updates its counters together.

SECURITY = f"{PREFIX}:{{sec}}"


def ban(ban_id: str) -> str:
    """Hash: one ban (kind, target, reason, created_at, expires_at, created_by)."""
    return f"{SECURITY}:ban:{ban_id}"


def bans_index() -> str:
    """Sorted set: ban id -> created at (ms), every live ban."""
    return f"{SECURITY}:bans"


def ip_bans() -> str:
    """Hash: network ("4:<hex>/<prefix>" or "6:<hex>/<prefix>") -> "<ban id>|<expires ms>"."""
    return f"{SECURITY}:bans:ip"


def player_bans() -> str:
    """Hash: player id -> "<ban id>|<expires ms>" (expires 0: never)."""
    return f"{SECURITY}:bans:player"


def ban_changes() -> str:
    """Stream: every change of the two ban indexes (kind, field, entry: the new value,
    empty when removed), added in the change's MULTI; each process applies the new ones
    to its copy of the bans (engine.security.ban_cache). Trimmed to about 10,000."""
    return f"{SECURITY}:bans:changes"


def security_events() -> str:
    """Stream: every violation (at, player, address, rule, details, action)."""
    return f"{SECURITY}:events"


def ban_events() -> str:
    """Stream: player bans placed and lifted (type, player, ban, reason, expires_at,
    created_by, at), written in the ban's own MULTI; drained by the webhooks job."""
    return f"{SECURITY}:ban-events"


def violation_counts(player_id: str) -> str:
    """Hash: rule -> violations by the player, over the rules' window."""
    return f"{SECURITY}:flags:{player_id}"


def recent_violations(player_id: str) -> str:
    """Sorted set: the player's violations in the window (member: event id, score: ms)."""
    return f"{SECURITY}:recent:{player_id}"


def violations_in_minute(minute: int) -> str:
    """String: violations service-wide in one minute (unix minutes); for alerting."""
    return f"{SECURITY}:minute:{minute}"


# Jobs -----------------------------------------------------------------------------

JOBS = f"{PREFIX}:{{jobs}}"


def job_history(name: str) -> str:
    """List: the job's newest run ids, newest first (50)."""
    return f"{JOBS}:history:{name}"


def job_run(run_id: str) -> str:
    """String (JSON): one run's record; expires after 14 days (SQL keeps them all)."""
    return f"{JOBS}:run:{run_id}"


def job_last_success(name: str) -> str:
    """String (JSON): the job's last successful run."""
    return f"{JOBS}:success:{name}"


def job_lock(name: str) -> str:
    """Hash {run, expires_ms}: the run in progress; its heartbeat renews it (10 s TTL)."""
    return f"{JOBS}:lock:{name}"


def job_running(name: str) -> str:
    """Set: ids of the job's runs that started and have not ended (or been found dead)."""
    return f"{JOBS}:running:{name}"


def job_queued(name: str) -> str:
    """String, in the queue's Redis: the RQ id of the job's last queued run (1 day), so
    a run already queued (or, for an admin's request, running) is not queued again."""
    return f"{JOBS}:queued:{name}"


def job_enqueue_mutex(name: str) -> str:
    """String, in the queue's Redis: held (5 s at most) while a run of the job is queued."""
    return f"{JOBS}:enqueue-mutex:{name}"


def job_done(name: str, due_ms: int) -> str:
    """String: a run for this due time succeeded (14 days)."""
    return f"{JOBS}:done:{name}:{due_ms}"


def job_dispatched(name: str, due_ms: int) -> str:
    """String: the watchdog dispatched the job for this due time (14 days)."""
    return f"{JOBS}:dispatched:{name}:{due_ms}"


def scheduler_heartbeat() -> str:
    """String: when the watchdog last ran (ms)."""
    return f"{JOBS}:heartbeat"


def job_first_seen(name: str) -> str:
    """String: when the service first saw the job, watched or run (ms); lateness counts
    from then, so a job due before the service started was never missed."""
    return f"{JOBS}:first-seen:{name}"


def season_archived(season_id: str) -> str:
    """String: the season's battle pass is archived to SQL and its keys removed."""
    return f"{JOBS}:season-archived:{season_id}"
