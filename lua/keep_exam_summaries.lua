--[[ keep_exam_summaries: keep the first summary of each exam, and return the kept ones.

Concurrent copies of one exam may each finish the boards; only the first summary is
kept in the exam's record, and every copy answers with it, so all of them return the
same body. One call takes any number of exams whose players share one shard.

KEYS, one per exam:
  1 exam record    hash   fp, result, summary

ARGV[1] record ttl  seconds: a record the summary creates (its exam expired meanwhile)
                    still expires
ARGV[2..] the summary (JSON) of each exam, in the order of KEYS

Returns the summary kept in each record, in order.
]]

local kept = {}
for i, record in ipairs(KEYS) do
  if redis.call('HSETNX', record, 'summary', ARGV[i + 1]) == 1 then
    if redis.call('TTL', record) < 0 then
      redis.call('EXPIRE', record, ARGV[1])
    end
    kept[i] = ARGV[i + 1]
  else
    kept[i] = redis.call('HGET', record, 'summary')
  end
end
return kept
