--[[ include codes: the names of the codes every script answers with.

Provides CODE, name -> integer, the same names and values as engine.outcomes.ScriptCode
(tests/test_script_codes.py compares them). Scripts return CODE.<NAME>, never a number.
Needs: nothing.
]]

local CODE = {
  APPLIED = 0,
  REPLAYED = 1,
  NO_CHANGE = 2,
  UNANSWERED = 3,
  INSUFFICIENT_FUNDS = -1,
  KEY_REUSED = -2,
  BALANCE_LIMIT = -3,
  DAILY_LIMIT = -4,
  RAPID_FIRE = -5,
  RATE_LIMITED = -6,
  LOCK_HELD = -7,
  LOCK_LOST = -8,
  NOT_RANKED = -9,
}
