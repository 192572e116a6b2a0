"""Every Redis key name the engine uses is built here, and only here: this module is the
one import point (`from engine import keys`, then `keys.wallet(...)`), and it re-exports
the domain modules that hold the key functions: engine.keys_shards (the shard count and
tags, `player_of`), engine.keys_player (a player's keys and progression), engine.keys_boards,
engine.keys_leagues, engine.keys_security, engine.keys_jobs and engine.keys_admin. Nothing else
imports those.

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

from engine.keys_admin import admin_idempotency as admin_idempotency
from engine.keys_admin import admin_idempotency_lease as admin_idempotency_lease
from engine.keys_boards import board_aggregates as board_aggregates
from engine.keys_boards import board_index as board_index
from engine.keys_boards import board_prizes as board_prizes
from engine.keys_boards import board_prizes_closed as board_prizes_closed
from engine.keys_boards import board_prizes_seen as board_prizes_seen
from engine.keys_boards import board_removals as board_removals
from engine.keys_boards import board_scores as board_scores
from engine.keys_boards import board_snapshot_building as board_snapshot_building
from engine.keys_boards import board_snapshot_ranking as board_snapshot_ranking
from engine.keys_boards import board_snapshot_ranks as board_snapshot_ranks
from engine.keys_boards import board_snapshot_top as board_snapshot_top
from engine.keys_boards import board_stats as board_stats
from engine.keys_boards import exam as exam
from engine.keys_boards import player_board_stats as player_board_stats
from engine.keys_jobs import JOBS as JOBS
from engine.keys_jobs import job_alerting as job_alerting
from engine.keys_jobs import job_dispatched as job_dispatched
from engine.keys_jobs import job_done as job_done
from engine.keys_jobs import job_enqueue_mutex as job_enqueue_mutex
from engine.keys_jobs import job_first_seen as job_first_seen
from engine.keys_jobs import job_history as job_history
from engine.keys_jobs import job_last_success as job_last_success
from engine.keys_jobs import job_lock as job_lock
from engine.keys_jobs import job_queued as job_queued
from engine.keys_jobs import job_run as job_run
from engine.keys_jobs import job_running as job_running
from engine.keys_jobs import job_runs_unrecorded as job_runs_unrecorded
from engine.keys_jobs import scheduler_heartbeat as scheduler_heartbeat
from engine.keys_jobs import season_archived as season_archived
from engine.keys_jobs import zone_tables as zone_tables
from engine.keys_jobs import zone_tables_renewal as zone_tables_renewal
from engine.keys_leagues import league_closed as league_closed
from engine.keys_leagues import league_members as league_members
from engine.keys_leagues import league_rosters as league_rosters
from engine.keys_leagues import league_scores as league_scores
from engine.keys_leagues import league_tiers as league_tiers
from engine.keys_leagues import payouts_banned as payouts_banned
from engine.keys_leagues import payouts_paid as payouts_paid
from engine.keys_leagues import payouts_standings as payouts_standings
from engine.keys_leagues import player_league as player_league
from engine.keys_player import address_rate_window as address_rate_window
from engine.keys_player import battle_pass as battle_pass
from engine.keys_player import battle_pass_pattern as battle_pass_pattern
from engine.keys_player import clock_offset as clock_offset
from engine.keys_player import daily as daily
from engine.keys_player import daily_pattern as daily_pattern
from engine.keys_player import idempotency as idempotency
from engine.keys_player import ledger as ledger
from engine.keys_player import missions_of_day as missions_of_day
from engine.keys_player import outbox as outbox
from engine.keys_player import pace as pace
from engine.keys_player import player_keys_pattern as player_keys_pattern
from engine.keys_player import player_outbox as player_outbox
from engine.keys_player import player_rate_window as player_rate_window
from engine.keys_player import settings as settings
from engine.keys_player import settings_pattern as settings_pattern
from engine.keys_player import streak as streak
from engine.keys_player import tool_of_day as tool_of_day
from engine.keys_player import wallet as wallet
from engine.keys_player import wallets_pattern as wallets_pattern
from engine.keys_security import SECURITY as SECURITY
from engine.keys_security import ban as ban
from engine.keys_security import ban_changes as ban_changes
from engine.keys_security import ban_events as ban_events
from engine.keys_security import bans_index as bans_index
from engine.keys_security import ip_bans as ip_bans
from engine.keys_security import player_bans as player_bans
from engine.keys_security import recent_violations as recent_violations
from engine.keys_security import security_events as security_events
from engine.keys_security import violation_copy as violation_copy
from engine.keys_security import violations_in_minute as violations_in_minute
from engine.keys_shards import DEFAULT_PLAYER_SHARDS as DEFAULT_PLAYER_SHARDS
from engine.keys_shards import MAX_PLAYER_SHARDS as MAX_PLAYER_SHARDS
from engine.keys_shards import PREFIX as PREFIX
from engine.keys_shards import player_of as player_of
from engine.keys_shards import player_shards as player_shards
from engine.keys_shards import player_shards_record as player_shards_record
from engine.keys_shards import set_player_shards as set_player_shards
from engine.keys_shards import shard_of as shard_of
from engine.keys_shards import shard_tag as shard_tag
