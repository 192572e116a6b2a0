--[[ keep_exam_summaries: keep the first summary of each exam, and return the kept ones.

Concurrent copies of one exam may each finish the boards; only the first summary is
kept in the exam's record, and every copy answers with it, so all of them return the
same body. One call takes any number of exams whose players share one shard.

The summary takes the place of the step-1 result (record_exams.lua), which only an
unanswered replay needs: a record "<fp>|r<result>" ends as "<fp>|s<summary>", its TTL
kept (engine.boards.exam_record). A record of the earlier layout, a hash (fp, result,
summary), ends as fp and summary.

KEYS, one per exam:
  1 exam record    string "<fp>|r<result>" or "<fp>|s<summary>"; or a hash (fp, result,
                          summary), the earlier layout

ARGV[1] record ttl  seconds: a record the summary creates (its exam expired meanwhile)
                    still expires
ARGV[2..] the summary (packed, engine.boards.exam_record) of each exam, in the order of
          KEYS

Returns the summary kept in each record, in order.
]]

-- The earlier layout: the first summary stays, and the result goes.
local function keep_in_hash(record, summary)
  if redis.call('HSETNX', record, 'summary', summary) == 0 then
    return redis.call('HGET', record, 'summary')
  end
  redis.call('HDEL', record, 'result')
  return summary
end

local kept = {}
for i, record in ipairs(KEYS) do
  local summary = ARGV[i + 1]
  local stored = redis.pcall('GET', record)
  if type(stored) == 'table' then  -- WRONGTYPE: a hash
    kept[i] = keep_in_hash(record, summary)
  elseif not stored then
    -- The record expired before its summary: this creates it, without a fingerprint.
    redis.call('SET', record, '|s' .. summary, 'EX', ARGV[1])
    kept[i] = summary
  else
    local bar = string.find(stored, '|', 1, true)
    if string.byte(stored, bar + 1) == 115 then  -- "s": a summary is kept already
      kept[i] = string.sub(stored, bar + 2)
    else
      redis.call('SET', record, string.sub(stored, 1, bar) .. 's' .. summary, 'KEEPTTL')
      kept[i] = summary
    end
  end
end
return kept
