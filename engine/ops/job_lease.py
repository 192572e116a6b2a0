"""A run's hold on its job's lock: short, renewed by a heartbeat, owned by a token.

A fixed lock as long as the slowest run would leave a job stalled that long after its
process is killed. Instead the lock lives `LOCK_TTL` (10 s) past the last heartbeat:
a thread in the running process renews it every third of that, so a live run keeps
it however long it runs, and a run killed with SIGKILL (or hung so hard that its
heartbeat stops) loses it within seconds. The next run then takes over, and the dead
run is handed back (once, to whoever notices first) to be recorded as failed.

The lock holds the run id as its token: only the owner renews or releases it, and a
run that finds its lock gone knows it lost it (`held()` is False from then on).
Expiry is judged with the engine clock, passed to the scripts as ARGV, so tests set
the time; the key's Redis TTL only retires it.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from redis.exceptions import RedisError

from engine import alerts, keys
from engine.clock import to_ms
from engine.outcomes import ScriptCode
from engine.runtime import Engine

LOCK_TTL = timedelta(seconds=10)


class Lease:
    """One run's lock on its job (see the module docstring)."""

    def __init__(self, engine: Engine, name: str, run_id: str, ttl: timedelta = LOCK_TTL):
        self.engine = engine
        self.name = name
        self.run_id = run_id
        self.ttl_ms = int(ttl.total_seconds() * 1000)
        self._lost = threading.Event()
        self._stopped = threading.Event()
        self._heartbeat: threading.Thread | None = None

    @property
    def _keys(self) -> list[str]:
        return [keys.job_lock(self.name), keys.job_running(self.name)]

    def take(self) -> tuple[bool, list[str]]:
        """Take the lock unless a live run holds it; also returns the runs found dead."""
        code, stale = self.engine.scripts.take_job_lock(
            self._keys, [self.run_id, self._now_ms(), self.ttl_ms]
        )
        return code == ScriptCode.APPLIED, [run_id.decode() for run_id in stale]

    def held(self) -> bool:
        """Renew the lock and say whether this run still holds it (a lost lock stays lost)."""
        if self._lost.is_set():
            return False
        code = self.engine.scripts.renew_job_lock(
            self._keys[:1], [self.run_id, self._now_ms(), self.ttl_ms]
        )
        renewed = code == ScriptCode.APPLIED
        if not renewed:
            self._lost.set()
        return renewed

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def keep_alive(self) -> None:
        """Start the heartbeat thread: renew every third of the TTL until stopped or lost."""
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"job-lease-{self.name}", daemon=True
        )
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stopped.wait(self.ttl_ms / 3000):
            try:
                if not self.held():
                    return
            except RedisError as error:  # Redis unreachable for now: try again next beat
                alerts.log.error(json.dumps({"job_lease_renew_failed": str(error)[:500]}))

    def stop(self) -> None:
        """Stop the heartbeat (the lock stays until released or expired)."""
        self._stopped.set()
        if self._heartbeat is not None:
            self._heartbeat.join()

    def release(self) -> bool:
        """Free the lock; False when the run had already been found dead by another."""
        self.stop()
        code = self.engine.scripts.release_job_lock(self._keys, [self.run_id])
        return code == ScriptCode.APPLIED

    def _now_ms(self) -> int:
        return to_ms(self.engine.clock.now())


def reap(engine: Engine, name: str) -> list[str]:
    """The job's runs that died without ending, each returned once (to the first caller)."""
    stale = engine.scripts.reap_job_runs(
        [keys.job_lock(name), keys.job_running(name)], [to_ms(engine.clock.now())]
    )
    return [run_id.decode() for run_id in stale]
