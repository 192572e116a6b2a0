"""The engine's dependencies in one object: Redis, rules, clock, scripts, settings.

Web and jobs each build one `Engine` at start-up and pass it to engine functions.
There is no module-level client: tests build engines on fakeredis or a real Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.clock import Clock, SystemClock
from engine.rules import Rules
from engine.scripts import Scripts


@dataclass
class Engine:
    redis: Any
    rules: Rules
    clock: Clock = field(default_factory=SystemClock)
    idempotency_ttl_seconds: int = 86_400
    scripts: Scripts = field(init=False)

    def __post_init__(self) -> None:
        self.scripts = Scripts(self.redis)
