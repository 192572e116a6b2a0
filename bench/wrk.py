"""wrk runs for the HTTP cost benchmark: full speed, or paced to a target rate.

Each request is built in wrk's Lua from one template per route (the same template the
in-process command count fills in Python): `{player}` is a random seeded player,
`{unique}` a value never sent before (an Idempotency-Key or an exam_id), `{score}` and
`{correct}` random exam figures. wrk 4 has no rate option (wrk2 has), so a paced run
gives `delay()` to wrk: every finished request books the thread's next send slot,
`1 / rate_per_thread` after the previous one, and waits for it. Latency is measured by
wrk from the moment a request is written, so waiting for a slot is not counted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass

INSTALL_HINT = (
    "wrk is not installed: `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk`"
)
THREADS = 2
CONNECTIONS = 8
# wrk drops an answer slower than its timeout (2 s by default) from the latencies and
# counts it as an error: a slow answer is one to measure.
WRK = ("wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", "--timeout", "10s")
FIELD = re.compile(r"\{(\w+)\}")  # as Lua's "{(%w+)}" below

_PRELUDE = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } qb_timespec;
int clock_gettime(int clock_id, qb_timespec *tp);
]]
local timespec = ffi.new("qb_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, timespec)  -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local threads_started = 0
function setup(thread)
  threads_started = threads_started + 1
  thread:set("thread_number", threads_started)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("QB-RESULT %d %d %d %d %d %d\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""

_REQUEST = r"""
local method, path, body = %(method)s, %(path)s, %(body)s
local headers = %(headers)s
local players, run = %(players)d, %(run)s
local sent = 0
local fixed = nil

function init(args)
  math.randomseed(os.time() * 100 + (thread_number or 0))  -- each thread its own players
end
if not %(has_fields)s then
  fixed = wrk.format(method, path, headers, body ~= "" and body or nil)
end

function request()
  if fixed then return fixed end
  sent = sent + 1
  local values = {
    player = "p" .. math.random(0, players - 1),
    unique = run .. "-" .. (thread_number or 0) .. "-" .. sent,
    score = tostring(math.random(0, 1000)),
    correct = tostring(math.random(0, 10)),
  }
  local filled = {}
  for name, value in pairs(headers) do filled[name] = value:gsub("{(%%w+)}", values) end
  local filled_body = body:gsub("{(%%w+)}", values)
  return wrk.format(method, (path:gsub("{(%%w+)}", values)), filled,
    filled_body ~= "" and filled_body or nil)
end
"""

_PACING = r"""
local interval_ms = %(interval_ms).6f
local last_slot = nil
function delay()
  local now = now_ms()
  local slot = last_slot and math.max(last_slot + interval_ms, now) or now
  last_slot = slot
  return math.floor(slot - now + 0.5)
end
"""


@dataclass(frozen=True)
class RequestTemplate:
    """One route's request; `{name}` placeholders are filled per request."""

    method: str
    path: str
    headers: dict[str, str]
    body: str = ""

    @property
    def has_fields(self) -> bool:
        texts = [self.path, self.body, *self.headers.values()]
        return any(FIELD.search(text) for text in texts)

    def fill(self, values: dict[str, str]) -> RequestTemplate:
        """The request with every `{name}` replaced by `values[name]`."""

        def filled(text: str) -> str:
            return FIELD.sub(lambda found: values[found[1]], text)

        headers = {name: filled(value) for name, value in self.headers.items()}
        return RequestTemplate(self.method, filled(self.path), headers, filled(self.body))


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def script(template: RequestTemplate, players: int, rate: float | None = None) -> str:
    """wrk's Lua for `template`: full speed, or paced to `rate` requests/s in all."""
    headers = ", ".join(
        f"[ {_lua_string(name)} ] = {_lua_string(value)}"
        for name, value in template.headers.items()
    )
    lua = _PRELUDE + _REQUEST % {
        "method": _lua_string(template.method),
        "path": _lua_string(template.path),
        "body": _lua_string(template.body),
        "headers": "{" + headers + "}",
        "players": players,
        "run": _lua_string(uuid.uuid4().hex[:12]),
        "has_fields": "true" if template.has_fields else "false",
    }
    if rate is not None:
        lua += _PACING % {"interval_ms": 1000.0 * THREADS / rate}
    return lua


def parse(output: str) -> WrkResult:
    found = re.search(r"QB-RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", output)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    requests, micros, p50, p99, non_2xx, socket_errors = (int(n) for n in found.groups())
    return WrkResult(requests, micros / 1e6, p50 / 1e3, p99 / 1e3, non_2xx, socket_errors)


def installed() -> bool:
    return shutil.which("wrk") is not None


def run(
    port: int, template: RequestTemplate, players: int, seconds: int, rate: float | None = None
) -> WrkResult:
    """One wrk run of `seconds` (whole seconds: wrk's resolution) against 127.0.0.1:port."""
    if not installed():
        raise RuntimeError(INSTALL_HINT)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="questboard-wrk-") as lua:
        lua.write(script(template, players, rate))
        lua.flush()
        completed = subprocess.run(
            [*WRK, f"-d{max(1, seconds)}s", "-s", lua.name, f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed: {completed.stderr or completed.stdout}")
    return parse(completed.stdout)
