"""The API's operations this client calls, by the spec's operationId.

`ROUTES` is the one table of method and path per operation; `calls` builds every
request from it, and a test compares it with the server's OpenAPI spec so that a new
route cannot go unnoticed. `LEFT_OUT` names the operations a game server does not
call, each with why (the job dashboard at /admin/rq is not in the spec at all).
"""

from __future__ import annotations

ROUTES: dict[str, tuple[str, str]] = {
    "getHealth": ("GET", "/healthz"),
    "getCatalog": ("GET", "/v1/catalog"),
    "getWallet": ("GET", "/v1/players/{player_id}/wallet"),
    "createPurchase": ("POST", "/v1/players/{player_id}/purchases"),
    "listLedgerEntries": ("GET", "/v1/players/{player_id}/ledger"),
    "createGrant": ("POST", "/v1/admin/players/{player_id}/grants"),
    "recordExam": ("POST", "/v1/players/{player_id}/exams"),
    "recordExamBatch": ("POST", "/v1/exams:batch"),
    "createGrantBatch": ("POST", "/v1/admin/grants:batch"),
    "listWallets": ("GET", "/v1/wallets"),
    "listLeaderboard": ("GET", "/v1/leaderboards/{period_type}"),
    "getLeaderboardStanding": ("GET", "/v1/leaderboards/{period_type}/players/{player_id}"),
    "listPlayerRanks": ("GET", "/v1/players/{player_id}/ranks"),
    "getDaily": ("GET", "/v1/players/{player_id}/daily"),
    "listMissions": ("GET", "/v1/players/{player_id}/missions"),
    "claimLogin": ("POST", "/v1/players/{player_id}/login"),
    "createAdReward": ("POST", "/v1/players/{player_id}/ad-rewards"),
    "repairStreak": ("POST", "/v1/players/{player_id}/streak/repair"),
    "getBattlePass": ("GET", "/v1/players/{player_id}/battle-pass"),
    "getPlayerLeague": ("GET", "/v1/players/{player_id}/league"),
    "getLeagueCohort": ("GET", "/v1/leagues/{period}/cohorts/{cohort_id}"),
    "getPlayerSettings": ("GET", "/v1/players/{player_id}/settings"),
    "setPlayerSettings": ("PUT", "/v1/players/{player_id}/settings"),
    "getToolOfTheDay": ("GET", "/v1/tool-of-the-day"),
    "setToolOfTheDay": ("PUT", "/v1/admin/tool-of-the-day"),
    "createIpBan": ("POST", "/v1/admin/bans"),
    "listIpBans": ("GET", "/v1/admin/bans"),
    "deleteIpBan": ("DELETE", "/v1/admin/bans/{ban_id}"),
    "createPlayerBan": ("POST", "/v1/admin/player-bans"),
    "listPlayerBans": ("GET", "/v1/admin/player-bans"),
    "deletePlayerBan": ("DELETE", "/v1/admin/player-bans/{ban_id}"),
}

LEFT_OUT: dict[str, str] = {
    "setClock": "admin: moves the engine's clock, for test environments only",
    "resetClock": "admin: puts the engine's clock back, for test environments only",
    "listJobs": "admin: the operators' view of background jobs",
    "runJob": "admin: operators start background jobs by hand",
    "listSecurityEvents": "admin: the fraud desk's event log",
    "getPlayerFlags": "admin: the fraud desk's flags on a player",
    "removePlayerFromLeaderboards": "admin: a moderation action of the fraud desk",
    "createWebhook": "admin: operators manage webhook subscriptions",
    "listWebhooks": "admin: operators manage webhook subscriptions",
    "getWebhook": "admin: operators manage webhook subscriptions",
    "updateWebhook": "admin: operators manage webhook subscriptions",
    "deleteWebhook": "admin: operators manage webhook subscriptions",
    "testWebhook": "admin: operators manage webhook subscriptions",
    "rotateWebhookSecret": "admin: operators manage webhook subscriptions",
    "listWebhookDeliveries": "admin: the operators' delivery log",
    "redeliverWebhook": "admin: operators resend a delivery by hand",
}
