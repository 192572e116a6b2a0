"""A ledger entry's reason is the JSON string cjson writes, whichever bytes it holds.

include/wallet.lua quotes a reason itself when it holds no byte cjson escapes and
leaves the others to cjson.encode: the entries stay byte for byte as cjson wrote them.
"""

from engine.scripts import LUA_DIR

COMPARE = """
local mismatched = {}
for byte = 0, 255 do
  local reason = '1 x ' .. string.char(byte) .. ' bricks'
  if json_text(reason) ~= cjson.encode(reason) then
    mismatched[#mismatched + 1] = byte
  end
end
for _, reason in ipairs(ARGV) do
  if json_text(reason) ~= cjson.encode(reason) then
    mismatched[#mismatched + 1] = reason
  end
end
return mismatched
"""


def test_every_byte_of_a_reason_is_written_as_cjson_writes_it(real_redis):
    wallet = (LUA_DIR / "include" / "wallet.lua").read_text(encoding="utf-8")
    reasons = ["1 x bricks", "", 'say "hi"', "a/b\\c", "tab\there", "caf\u00e9 \u2603"]
    assert real_redis.eval(wallet + COMPARE, 0, *reasons) == []
