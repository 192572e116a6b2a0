"""Webhooks: tell a game server what happened, signed, at least once, in order per player.

- `events`: what an event is, the events a persisted batch carries (ledger entries,
  exams, missions completed and levels reached, violations) in the order they were
  written, and `record`, which writes them with one delivery row per
  subscription that asked for them, inside the caller's SQL transaction: the
  transaction that persists the outbox entries. An event is never a second write
  that could be lost.
- `sources`: events whose record is not an outbox entry: bans (a stream beside the
  ban, written in the ban's own MULTI, recorded once the player's earlier outbox
  entries are persisted, so delivered after them) and a board's final top when its
  period ends.
- `subscriptions`: the admin's subscriptions, signing secrets (rotation with a grace
  period), the delivery log, test pings and redelivery.
- `retries`: creating a subscription and rotating its secret once per Idempotency-Key
  (engine.economy.idempotency's record, claimed before the SQL change).
- `delivery`: the `webhooks` job. Each due delivery at the head of its sequence (a
  player, or the event itself) is POSTed with `Questboard-Signature`, retried with
  exponential backoff and jitter for 24 hours, then failed with an alert.
- `outcomes`: a pass's outcomes written in one transaction (delivered, retried after its
  backoff, given up; a subscription failing for 24 hours disabled), alerts after it.
- `deadline`: the bound on one whole attempt (10 s): its connection shut down at the
  deadline, so a receiver trickling its answer cannot hold a pass.
- `encryption`: signing secrets encrypted at rest with WEBHOOK_SECRETS_KEY (Fernet),
  plain ones still read, so both kinds coexist until `encrypt_secrets` (here) has run.
- `guard`: the receiver URL checks (no loopback, link-local or private address unless
  WEBHOOK_ALLOW_PRIVATE), and each attempt pinned to the address it checked.
- `retention`: the record kept 30 days (the weekly cleanup job).

Depends on: core, boards, economy.
"""

from __future__ import annotations

EVENT_TYPES = (
    "purchase.completed",
    "grant.applied",
    "login.bonus_claimed",
    "streak.repaired",
    "mission.completed",
    "battle_pass.level_reached",
    "exam.recorded",
    "player.banned",
    "player.unbanned",
    "leaderboard.period_closed",
    "security.violation",
)
PING = "ping"  # sent by POST /v1/admin/webhooks/{id}/test, to that subscription only
