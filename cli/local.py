"""Where a `make run` in this checkout keeps its data, so every tool finds the same.

The launcher (scripts/run.py) and the `questboard` command both start from here: with
no REDIS_URL the engine's Redis is the embedded one on `<QUESTBOARD_VAR>/redis.sock`,
and with no DATABASE_URL the durable store is `<QUESTBOARD_VAR>/questboard.db`.
QUESTBOARD_VAR defaults to `./var` of the checkout.

Installed (`pip install .`), this code sits in site-packages, beside no `make run`:
there the stores are only what REDIS_URL and DATABASE_URL (or QUESTBOARD_VAR) say, and
nothing is made up under site-packages.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def has_make_run(env: Mapping[str, str]) -> bool:
    """Whether a `make run` folder is where the stores default to: QUESTBOARD_VAR names
    one, or this code runs from a checkout (its launcher, scripts/run.py, is here)."""
    return bool(env.get("QUESTBOARD_VAR")) or (ROOT / "scripts" / "run.py").is_file()


def var_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("QUESTBOARD_VAR") or ROOT / "var").resolve()


def redis_socket(var: Path) -> Path:
    return var / "redis.sock"


def embedded_redis_url(var: Path) -> str:
    return f"unix://{redis_socket(var)}?db=0"


def sqlite_url(var: Path) -> str:
    return f"sqlite:///{var / 'questboard.db'}"


def local_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with REDIS_URL and DATABASE_URL filled in as `make run` fills them (as it
    is, without a `make run` to take them from)."""
    filled = dict(env)
    if not has_make_run(env):
        return filled
    var = var_dir(env)
    if not filled.get("REDIS_URL"):
        filled["REDIS_URL"] = embedded_redis_url(var)
    if not filled.get("DATABASE_URL"):
        filled["DATABASE_URL"] = sqlite_url(var)
    return filled


def without_password(url: str) -> str:
    """A store's URL as an operator configured it, its password masked: where a message
    says which Redis it means."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
