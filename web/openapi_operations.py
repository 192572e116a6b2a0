"""Every operation of the API: its stable `operationId`, summary and own error codes.

web.api refuses at start-up a route whose blueprint endpoint has no operation here;
web.openapi reads these when it completes the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Operation:
    operation_id: str
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)  # beyond the generic ones
    replayable: bool = False  # answers a replay with Idempotent-Replayed: true


RAPID_FIRE = (429, ("rapid_fire",))

# Blueprint endpoint -> its operation. A route missing here stops the app at start-up.
OPERATIONS: dict[str, Operation] = {
    "health.healthz": Operation("getHealth"),
    "catalog.catalog": Operation("getCatalog"),
    "wallets.get_wallet": Operation("getWallet"),
    "purchases.create_purchase": Operation(
        "createPurchase",
        {
            404: ("unknown_item",),
            409: ("insufficient_funds", "price_changed", "balance_limit_exceeded"),
            422: ("idempotency_key_reused",),
            RAPID_FIRE[0]: RAPID_FIRE[1],
        },
        replayable=True,
    ),
    "ledger.get_ledger": Operation("listLedgerEntries"),
    "grants.create_grant": Operation(
        "createGrant",
        {
            409: ("insufficient_funds", "balance_limit_exceeded"),
            422: ("idempotency_key_reused",),
            RAPID_FIRE[0]: RAPID_FIRE[1],
        },
        replayable=True,
    ),
    "exams.record_exam": Operation(
        "recordExam",
        {422: ("idempotency_key_reused",), RAPID_FIRE[0]: RAPID_FIRE[1]},
        replayable=True,  # an exam sent again: 200, the first summary
    ),
    "leaderboards.top": Operation("listLeaderboard", {404: ("period_expired",)}),
    "leaderboards.around": Operation(
        "getLeaderboardStanding", {404: ("not_ranked", "period_expired")}
    ),
    "leaderboards.player_ranks": Operation("listPlayerRanks"),
    "daily.get_daily": Operation("getDaily"),
    "daily.get_missions": Operation("listMissions"),
    "daily.login": Operation(
        "claimLogin",
        {RAPID_FIRE[0]: RAPID_FIRE[1]},
        replayable=True,  # with an Idempotency-Key: a retry answers the first answer
    ),
    "streaks.repair_streak": Operation(
        "repairStreak",
        {409: ("insufficient_funds", "streak_not_repairable"), 422: ("idempotency_key_reused",)},
        replayable=True,
    ),
    "ads.create_ad_reward": Operation(
        "createAdReward",
        {
            409: ("daily_limit_reached", "balance_limit_exceeded"),
            422: ("idempotency_key_reused",),
            RAPID_FIRE[0]: RAPID_FIRE[1],
        },
        replayable=True,
    ),
    "battle_pass.get_battle_pass": Operation("getBattlePass", {404: ("not_found",)}),
    "tools.get_tool": Operation("getToolOfTheDay"),
    "tools.put_tool": Operation("setToolOfTheDay"),
    "clock.set_clock": Operation("setClock"),
    "clock.reset_clock": Operation("resetClock"),
    "bans.create_ip_ban": Operation("createIpBan"),
    "bans.list_ip_bans": Operation("listIpBans"),
    "bans.delete_ip_ban": Operation("deleteIpBan", {404: ("not_found",)}),
    "bans.create_player_ban": Operation("createPlayerBan"),
    "bans.list_player_bans": Operation("listPlayerBans"),
    "bans.delete_player_ban": Operation("deletePlayerBan", {404: ("not_found",)}),
    "security_admin.list_events": Operation("listSecurityEvents"),
    "security_admin.player_flags": Operation("getPlayerFlags"),
    "security_admin.remove_from_leaderboards": Operation("removePlayerFromLeaderboards"),
    "jobs_admin.list_jobs": Operation("listJobs"),
    "jobs_admin.run_job": Operation("runJob", {404: ("not_found",)}),
    "batches.record_exam_batch": Operation("recordExamBatch"),
    "batches.create_grant_batch": Operation("createGrantBatch"),
    "batches.list_wallets": Operation("listWallets"),
    "webhooks.create_webhook": Operation(
        "createWebhook", {422: ("idempotency_key_reused",)}, replayable=True
    ),
    "webhooks.list_webhooks": Operation("listWebhooks"),
    "webhooks.get_webhook": Operation("getWebhook", {404: ("not_found",)}),
    "webhooks.change_webhook": Operation("updateWebhook", {404: ("not_found",)}),
    "webhooks.delete_webhook": Operation("deleteWebhook", {404: ("not_found",)}),
    "webhooks.test_webhook": Operation("testWebhook", {404: ("not_found",)}),
    "webhooks.rotate_webhook_secret": Operation(
        "rotateWebhookSecret",
        {404: ("not_found",), 422: ("idempotency_key_reused",)},
        replayable=True,
    ),
    "webhooks.list_webhook_deliveries": Operation("listWebhookDeliveries", {404: ("not_found",)}),
    "webhooks.redeliver_webhook": Operation("redeliverWebhook", {404: ("not_found",)}),
    "leagues.get_player_league": Operation("getPlayerLeague"),
    "leagues.get_cohort": Operation("getLeagueCohort", {404: ("not_found", "period_expired")}),
    "settings.get_settings": Operation("getPlayerSettings"),
    "settings.put_settings": Operation("setPlayerSettings", {422: ("unknown_timezone",)}),
}

# The one-line summary of each operation, where its docstring gives none.
SUMMARIES = {
    "getHealth": "Liveness and the engine's clock",
    "getCatalog": "What players can buy, at the server's prices",
    "getWallet": "A player's balances",
    "createPurchase": "Buy a catalog item, exactly once per Idempotency-Key",
    "listLedgerEntries": "A player's balance changes, newest first",
    "createGrant": "Add or remove a player's resources (admin)",
    "recordExam": "Count an exam result into every current board, once per exam_id",
    "listLeaderboard": "The top of a board",
    "getLeaderboardStanding": "A player's entry on a board and the entries around it",
    "listPlayerRanks": "A player's entry on every current board",
    "getDaily": "A player's game day: login, ads and missions",
    "listMissions": "Today's missions and the player's progress",
    "claimLogin": "Claim the day's login bonus",
    "repairStreak": "Buy back a broken streak within its window, once per break",
    "getPlayerSettings": "A player's settings: their time zone",
    "setPlayerSettings": "Set a player's time zone (their own day for daily progress)",
    "createAdReward": "The reward for a watched ad, within the daily cap",
    "getBattlePass": "A player's XP, level and rewards in a season",
    "getToolOfTheDay": "Today's tool",
    "setToolOfTheDay": "Override today's tool (admin)",
    "setClock": "Set the engine clock (QA only, admin)",
    "resetClock": "Return the engine clock to real time (QA only, admin)",
    "createIpBan": "Ban an address or network (admin)",
    "listIpBans": "The address bans in force (admin)",
    "deleteIpBan": "Lift an address ban (admin)",
    "createPlayerBan": "Ban a player (admin)",
    "listPlayerBans": "The player bans in force (admin)",
    "deletePlayerBan": "Lift a player ban (admin)",
    "listSecurityEvents": "Security events, newest first (admin)",
    "getPlayerFlags": "A player's violation counts and block (admin)",
    "removePlayerFromLeaderboards": "Take a player off every kept board (admin)",
    "listJobs": "The jobs' schedule and state (admin)",
    "runJob": "Queue a job run now (admin)",
    "recordExamBatch": "Count up to 500 exam results of many players, each answered on its own",
    "createGrantBatch": "Up to 100 grants, each once per its own key, each answered (admin)",
    "listWallets": "Up to 100 players' balances in one request",
    "createWebhook": "Subscribe a URL to events; the signing secret is shown once (admin)",
    "listWebhooks": "The webhook subscriptions (admin)",
    "getWebhook": "One webhook subscription (admin)",
    "updateWebhook": "Change a subscription's URL, events or enabled state (admin)",
    "deleteWebhook": "Remove a webhook subscription and its delivery log (admin)",
    "testWebhook": "Queue a ping event to a subscription (admin)",
    "rotateWebhookSecret": "A new signing secret; the old one signs too for a grace period",
    "listWebhookDeliveries": "A subscription's delivery log, newest first (admin)",
    "redeliverWebhook": "Send a delivery again (admin)",
    "getPlayerLeague": "A player's tier, cohort standings and zones in the current period",
    "getLeagueCohort": "One cohort's standings in a period, current or closed",
}

OPERATIONS_BY_ID = {operation.operation_id: operation for operation in OPERATIONS.values()}
