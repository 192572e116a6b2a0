"""Where a `make run` in this checkout keeps its data, so every tool finds the same.

The launcher (scripts/run.py) and the `questboard` command both start from here: with
no REDIS_URL the engine's Redis is the embedded one on `<QUESTBOARD_VAR>/redis.sock`,
and with no DATABASE_URL the durable store is `<QUESTBOARD_VAR>/questboard.db`.
QUESTBOARD_VAR defaults to `./var` of the checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def var_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("QUESTBOARD_VAR") or ROOT / "var").resolve()


def redis_socket(var: Path) -> Path:
    return var / "redis.sock"


def embedded_redis_url(var: Path) -> str:
    return f"unix://{redis_socket(var)}?db=0"


def sqlite_url(var: Path) -> str:
    return f"sqlite:///{var / 'questboard.db'}"


def local_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with REDIS_URL and DATABASE_URL filled in as `make run` fills them."""
    var = var_dir(env)
    filled = dict(env)
    if not filled.get("REDIS_URL"):
        filled["REDIS_URL"] = embedded_redis_url(var)
    if not filled.get("DATABASE_URL"):
        filled["DATABASE_URL"] = sqlite_url(var)
    return filled
