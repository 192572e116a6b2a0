"""The one table of Lua scripts: each file in lua/ registered once, with its key count.

Shared Lua (the codes, the wallet, the progress of a player's day) lives in lua/include/
and is inlined where a script says `--- @include "name"`, as bullmq does; each script
stays one self-contained EVALSHA. An include defines functions that take what they use
as parameters (never the script's KEYS, ARGV or locals). Every script answers with a
CODE_<NAME> (lua/include/codes.lua), read in Python as engine.outcomes.ScriptCode.

redis-py's `Script` runs EVALSHA and loads the script again on NOSCRIPT, so a Redis
restart or failover needs nothing from us. The key count is checked on every call:
a script that silently got a key in ARGV would break Redis Cluster.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.commands.core import Script
from redis.exceptions import NoScriptError

from engine.replication import ReplicaWait, call_confirmed

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"

# script name -> number of KEYS it takes; a tuple (n,) means n keys per item, any number
# of items (a script that handles a batch)
SCRIPTS: dict[str, int | tuple[int]] = {
    "apply_transaction": 4,
    "record_exams": (16,),
    "record_activity": 12,
    "repair_streak": 6,
    "take_rate_slot": 1,
    "read_player": (1,),  # the player's rate window, then any number of keys to read
    "update_board": 2,
    "join_league": 3,
    "read_cohort": 3,
    "record_league_tiers": (1,),
    "remove_cohort_member": 3,
    "keep_exam_summaries": (1,),
    "read_board": 3,
    "rotate_snapshot": 4,
    "take_job_lock": 2,
    "renew_job_lock": 1,
    "release_job_lock": 2,
    "reap_job_runs": 2,
    "hold_job_alert": 1,
    "trim_ledgers": (1,),  # the shard's outbox, then any number of its players' ledgers
    "restore_daily_counters": 1,
    "restore_forward": 1,
    "replace_zone_table": 1,
}


# The scripts that change a player's balances in one call (a login, a purchase, an ad
# reward, a grant, a streak repair): with REDIS_WAIT_REPLICAS set, each call is answered
# only once that many replicas hold its write (engine.replication).
CONFIRMED = frozenset({"record_activity", "apply_transaction", "repair_streak"})


@dataclass(frozen=True)
class RegisteredScript:
    name: str
    key_count: int | tuple[int]
    script: Script
    wait: ReplicaWait | None = None  # set for CONFIRMED scripts when replicas are required

    def __call__(self, keys: Sequence[str], args: Sequence[Any], client: Any = None) -> Any:
        self.check_keys(keys)
        if client is not None:
            return self.script(keys=keys, args=args, client=client)
        if self.wait is not None:
            return call_confirmed(self.script, keys, args, self.wait)
        # What `Script.__call__` sends on its own client, without its layers (an import
        # and a pipeline check on every call): EVALSHA, and on NOSCRIPT the script
        # loaded again and the call sent once more.
        script = self.script
        redis = script.registered_client
        try:
            return redis.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            script.sha = redis.script_load(script.script)
            return redis.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)

    def check_keys(self, keys: Sequence[str]) -> None:
        if isinstance(self.key_count, tuple):
            per_item = self.key_count[0]
            if not keys or len(keys) % per_item:
                raise ValueError(f"{self.name}.lua takes {per_item} keys per item, got {len(keys)}")
        elif len(keys) != self.key_count:
            raise ValueError(f"{self.name}.lua takes {self.key_count} keys, got {len(keys)}")


class ScriptBatch:
    """Script calls and plain commands sent to Redis together, in one round trip.

    A redis-py pipeline that runs `Script` objects first asks SCRIPT EXISTS for them:
    one more round trip on every execute. A batch queues plain EVALSHA instead. Should
    Redis have lost its scripts (a restart, a failover), the calls it refused with
    NOSCRIPT, which therefore did not run, are sent again once their scripts are loaded
    (SCRIPT LOAD, on every primary of a cluster). Plain commands go through `batch.pipe`.

    On a Redis Cluster the batch is a ClusterPipeline: redis-py (8.1) groups its
    commands by the node that serves each key's slot, sends one pipeline per node
    (at once) and puts the replies back in the order they were queued, following
    MOVED and ASK on its own. Its `evalsha` method is blocked there, but an EVALSHA
    queued through `execute_command` is routed by its first key, which is why `call`
    queues it that way; every script's keys share one slot (engine.keys).
    """

    def __init__(self, scripts: Scripts, redis: Any) -> None:
        self._scripts = scripts
        self._redis = redis
        self.pipe = redis.pipeline(transaction=False)
        self._calls: dict[int, tuple[RegisteredScript, Sequence[str], Sequence[Any]]] = {}

    def call(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        script = getattr(self._scripts, name)
        script.check_keys(keys)
        self._calls[len(self.pipe)] = (script, keys, args)
        self.pipe.execute_command("EVALSHA", script.script.sha, len(keys), *keys, *args)

    def execute(self) -> list[Any]:
        """Every reply in order; raises the first error, as a pipeline does."""
        replies = self.pipe.execute(raise_on_error=False)
        lost = [i for i in self._calls if isinstance(replies[i], NoScriptError)]
        if lost:
            for script in {self._calls[i][0].name: self._calls[i][0] for i in lost}.values():
                self._redis.script_load(script.script.script)
            for i in lost:
                script, keys, args = self._calls[i]
                self.pipe.execute_command("EVALSHA", script.script.sha, len(keys), *keys, *args)
            for i, reply in zip(lost, self.pipe.execute(raise_on_error=False), strict=True):
                replies[i] = reply
        self._calls = {}
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies


INCLUDE = re.compile(r'^--- @include "([a-z_]+)"$', re.MULTILINE)


def lua_source(name: str) -> str:
    """The script's source with each `--- @include "x"` line replaced by lua/include/x.lua."""
    source = (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")
    return INCLUDE.sub(
        lambda match: (LUA_DIR / "include" / f"{match[1]}.lua").read_text(encoding="utf-8"),
        source,
    )


def registered_source(name: str) -> str:
    """The source registered for a script: lua_source(name), or what a tool makes of it.

    QUESTBOARD_LUA_TRANSFORM="module:function" names a function (name, source) -> source
    applied first: scripts/lua_coverage.py uses it to count the lines a test run reaches.
    """
    source = lua_source(name)
    transform = os.environ.get("QUESTBOARD_LUA_TRANSFORM")
    if not transform:
        return source
    module, function = transform.split(":")
    return getattr(importlib.import_module(module), function)(name, source)


class Scripts:
    """All scripts, registered on one client. Attribute access by script name."""

    def __init__(self, redis: Any, wait: ReplicaWait | None = None) -> None:
        self._redis = redis
        wait = wait if wait is not None and wait.replicas > 0 else None
        self._scripts = {
            name: RegisteredScript(
                name,
                key_count,
                redis.register_script(registered_source(name)),
                wait if name in CONFIRMED else None,
            )
            for name, key_count in SCRIPTS.items()
        }

    def batch(self) -> ScriptBatch:
        """Script calls (and commands) to send together: see ScriptBatch."""
        return ScriptBatch(self, self._redis)

    def __getattr__(self, name: str) -> RegisteredScript:
        try:
            return self._scripts[name]
        except KeyError:
            raise AttributeError(name) from None
