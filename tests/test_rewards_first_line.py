"""A day's rewards are decoded from the first line of their text.

record_activity.lua passes the game day's rewards to include/context.lua as they came,
with the other days' lines behind them (include/zone.lua, for a player without a time
zone): the rewards' decoding stops at the first line break, so what a call pays is what
the first line alone says.
"""

import json

from engine.scripts import LUA_DIR

DECODE = """
local context = parse_context(ARGV[1], ARGV[2])
return cjson.encode(rewards(context))
"""
CONTEXT = (
    "739948|2026-11-28|1795924800|8|2026-autumn|1000|buy_1:purchase:1|purchases:10:60000:10/minute"
)
REWARDS = '{"bonus": {"normal": {"logs": 1}, "milestone": {"steel": 10}, "every": 7}}'
OTHER_DAYS = '\n{"bonus": {"normal": {"coins": 9}}}\n{"bonus": {"normal": {"coins": 8}}}'


def decoded(redis_client, rewards: str) -> dict:
    progress = (LUA_DIR / "include" / "context.lua").read_text(encoding="utf-8")
    return json.loads(redis_client.eval(progress + DECODE, 0, CONTEXT, rewards))


def test_rewards_followed_by_other_days_decode_as_their_first_line(real_redis):
    assert decoded(real_redis, REWARDS + OTHER_DAYS) == json.loads(REWARDS)
    assert decoded(real_redis, REWARDS) == json.loads(REWARDS)
