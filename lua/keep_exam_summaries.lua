--[[ keep_exam_summaries: keep the first summary of each exam, and return the kept ones.

Concurrent copies of one exam may each finish the boards; only the first summary is
kept in the exam's record, and every copy answers with it, so all of them return the
same body. One call takes any number of exams whose players share one shard.

The summary takes the place of the step-1 result (record_exams.lua), which only an
unanswered replay needs: a record ends as fp and summary (engine.boards.exam_record).

KEYS, one per exam:
  1 exam record    hash   fp, result, summary

ARGV[1] record ttl  seconds: a record the summary creates (its exam expired meanwhile)
                    still expires
ARGV[2..] the summary (packed, engine.boards.exam_record) of each exam, in the order of
          KEYS

Returns the summary kept in each record, in order.
]]

local kept = {}
for i, record in ipairs(KEYS) do
  if redis.call('HSETNX', record, 'summary', ARGV[i + 1]) == 1 then
    -- No result to drop: the record expired before its summary, and this created it.
    if redis.call('HDEL', record, 'result') == 0 then
      redis.call('EXPIRE', record, ARGV[1])
    end
    kept[i] = ARGV[i + 1]
  else
    kept[i] = redis.call('HGET', record, 'summary')
  end
end
return kept
