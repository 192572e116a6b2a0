"""Operations: the jobs that keep the live store and the durable record in step.

`persistence` drains the outbox into SQL; `rebuild` restores Redis from SQL;
`maintenance` cleans up, rolls seasons over and reconciles; `jobruns`, `job_lease`,
`job_catalog` and `schedule` record, lock, list and time the jobs.

Depends on: core, rules, economy, boards, progression, security, webhooks, leagues.
"""
