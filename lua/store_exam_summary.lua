--[[ store_exam_summary: keep the first summary of an exam, and return the kept one.

Concurrent copies of one exam may each finish the boards; only the first summary is
kept, and every copy answers with it, so all of them return the same body.

KEYS[1] exam record   hash  fp, result, summary

ARGV[1] summary (JSON)

Returns the summary kept in the record.
]]

if redis.call('EXISTS', KEYS[1]) == 0 then
  return ARGV[1]  -- the record expired meanwhile: nothing to keep it in
end
redis.call('HSETNX', KEYS[1], 'summary', ARGV[1])
return redis.call('HGET', KEYS[1], 'summary')
