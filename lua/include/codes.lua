--[[ include codes: the names of the codes every script answers with.

Needs: nothing.
Provides CODE_<NAME> for each code, the same names and values as
engine.outcomes.ScriptCode (tests/test_script_codes.py compares them). Scripts return
CODE_<NAME>, never a number. Plain locals, not a table: a 13-entry table built on every
call cost about 5,800 instructions a call (callgrind on redis-server 7.0), a third of a
replayed grant; a local costs one register load.
CODE_APPLIED_TEXT is CODE_APPLIED as it is written into a recorded outcome's JSON
("code":0): concatenating the number would format it on every call (about 3,600
instructions).
]]

local CODE_APPLIED = 0
local CODE_REPLAYED = 1
local CODE_NO_CHANGE = 2
local CODE_UNANSWERED = 3
local CODE_INSUFFICIENT_FUNDS = -1
local CODE_KEY_REUSED = -2
local CODE_BALANCE_LIMIT = -3
local CODE_DAILY_LIMIT = -4
local CODE_RAPID_FIRE = -5
local CODE_RATE_LIMITED = -6
local CODE_LOCK_HELD = -7
local CODE_LOCK_LOST = -8
local CODE_NOT_RANKED = -9
local CODE_NOT_REPAIRABLE = -10
local CODE_APPLIED_TEXT = '0'
