"""One event's missions, found by a pattern over the day's missions text, are the ones
a parse of every mission lists for that event, in the same order (include/context.lua's
event_missions against context_missions)."""

import json

import pytest

from engine.scripts import LUA_DIR

COMPARE = """
local function found(missions_text, event, parsed_first)
  local context = parse_context('1|d|2|3|||' .. missions_text .. '|', '{}')
  if parsed_first then
    context_missions(context)
  end
  local out = {}
  for _, m in ipairs(event_missions(context, event)) do
    out[#out + 1] = {m.id, m.event, m.target}
  end
  return out
end
local function listed(missions_text, event)
  local context = parse_context('1|d|2|3|||' .. missions_text .. '|', '{}')
  local out = {}
  for _, m in ipairs(context_missions(context)) do
    if m.event == event then
      out[#out + 1] = {m.id, m.event, m.target}
    end
  end
  return out
end
return {cjson.encode(found(ARGV[1], ARGV[2], false)), cjson.encode(found(ARGV[1], ARGV[2], true)),
  cjson.encode(listed(ARGV[1], ARGV[2]))}
"""
MISSIONS = [
    "exams_3:complete_exam:3;ads_2:watch_ad:2;buy_1:purchase:1",
    "purchase:purchase:1;xpurchase:login:2;a:purchase:30;purchase_2:repurchase:4",
    "buy_1:purchase:1",
    "",
]
EVENTS = ["purchase", "login", "watch_ad", "complete_exam", "repurchase", "solve_questions"]


@pytest.mark.parametrize("missions", MISSIONS)
@pytest.mark.parametrize("event", EVENTS)
def test_an_events_missions_are_those_the_full_list_holds(real_redis, missions, event):
    progress = (LUA_DIR / "include" / "context.lua").read_text(encoding="utf-8")
    by_pattern, from_list, expected = (
        json.loads(text) for text in real_redis.eval(progress + COMPARE, 0, missions, event)
    )
    assert by_pattern == expected
    assert from_list == expected


def test_the_missions_of_a_purchase_are_found_by_id_and_target(real_redis):
    progress = (LUA_DIR / "include" / "context.lua").read_text(encoding="utf-8")
    by_pattern = json.loads(real_redis.eval(progress + COMPARE, 0, MISSIONS[1], "purchase")[0])
    assert by_pattern == [["purchase", "purchase", 1], ["a", "purchase", 30]]
