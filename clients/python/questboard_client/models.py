"""What the API answers, as frozen dataclasses (field names as in the API's JSON).

Amounts of resources are `dict[str, int]` (resource name to amount). Times are aware
`datetime`s in UTC; game days and season bounds are `date`s. Results of state-changing
calls carry `replayed`: True when the server answered from the outcome recorded for
the same Idempotency-Key (or exam_id), so nothing was changed a second time.

The boards' and leagues' classes live in `questboard_client.models_boards` and are
re-exported here, so every result class is importable from this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from questboard_client.errors import QuestboardError
from questboard_client.models_boards import (
    BoardPage,
    BoardResult,
    Entry,
    LeagueCohort,
    LeagueMember,
    PlayerLeague,
    PlayerRanks,
    PrizeRefused,
    RankedBoard,
    Standing,
)

Amounts = dict[str, int]
T = TypeVar("T")


@dataclass(frozen=True)
class Health:
    """`status` "ok", or "degraded" with `redis` naming the error (the server's 503)."""

    status: str
    redis: str
    now: datetime


@dataclass(frozen=True)
class CatalogItem:
    item: str
    title: str
    price: Amounts
    gives: Amounts
    max_quantity: int


@dataclass(frozen=True)
class Catalog:
    items: tuple[CatalogItem, ...]


@dataclass(frozen=True)
class Wallet:
    player_id: str
    balances: Amounts


@dataclass(frozen=True)
class DailyBonus:
    streak: int
    reward: Amounts
    transaction_id: str | None


@dataclass(frozen=True)
class MissionProgress:
    id: str
    progress: int
    target: int
    completed: bool
    xp: int | None
    reward: Amounts | None
    transaction_id: str | None


@dataclass(frozen=True)
class Xp:
    season: str
    gained: int
    total: int
    level: int
    levels_gained: tuple[int, ...]


@dataclass(frozen=True)
class LevelReward:
    level: int
    reward: Amounts
    transaction_id: str | None


@dataclass(frozen=True)
class Progress:
    """What an activity earned besides itself: bonus, missions, XP, level rewards."""

    daily_bonus: DailyBonus | None
    missions: tuple[MissionProgress, ...]
    xp: Xp | None
    level_rewards: tuple[LevelReward, ...]
    streak: int
    freezes_used: int = 0  # streak freezes this activity used to bridge missed game days


@dataclass(frozen=True)
class Purchase:
    transaction_id: str
    item: str
    quantity: int
    cost: Amounts
    balances: Amounts
    progress: Progress
    replayed: bool


@dataclass(frozen=True)
class Transaction:
    """An admin grant: the ledger's transaction id and the balances after it."""

    transaction_id: str
    balances: Amounts
    replayed: bool


@dataclass(frozen=True)
class LedgerEntry:
    transaction_id: str
    kind: str
    deltas: Amounts
    balances_after: Amounts
    reason: str
    at: datetime


@dataclass(frozen=True)
class LedgerPage:
    """Entries newest first; the next page is `before=entries[-1].transaction_id`."""

    player_id: str
    entries: tuple[LedgerEntry, ...]


@dataclass(frozen=True)
class ExamSummary:
    exam_id: str
    player_id: str
    category_id: str
    score: int
    total_questions: int
    correct_answers: int
    boards: tuple[BoardResult, ...]
    progress: Progress
    replayed: bool


@dataclass(frozen=True)
class MissionState:
    id: str
    title: str
    event: str
    progress: int
    target: int
    completed: bool
    xp: int
    reward: Amounts  # what the rules pay for completing it
    # None until completed; then what completing it paid: `reward` less what a daily
    # earning cap or the balance limit cut ({} when they cut it all)
    credited: Amounts | None = None


@dataclass(frozen=True)
class Missions:
    player_id: str
    game_day: date
    next_reset_at: datetime
    missions: tuple[MissionState, ...]


@dataclass(frozen=True)
class StreakRepairOffer:
    """A broken streak the player may buy back until `repair_by`, for `price`."""

    lost: int
    streak: int  # the streak once repaired
    price: Amounts
    repair_by: datetime


@dataclass(frozen=True)
class Daily:
    player_id: str
    game_day: date
    next_reset_at: datetime
    missions: tuple[MissionState, ...]
    login_claimed: bool
    streak: int
    ads_watched: int
    ads_limit: int
    streak_repair: StreakRepairOffer | None = None  # None: nothing to buy back


@dataclass(frozen=True)
class StreakRepair:
    """A broken streak bought back: `streak` restored, `price` paid once."""

    transaction_id: str
    streak: int
    lost: int
    best: int
    price: Amounts
    balances: Amounts
    replayed: bool
    # The login bonus milestones the restored streak reached on days paid as ordinary
    # ones, each paid now (its `reward` what was credited); usually () or one
    milestone_bonuses: tuple[DailyBonus, ...] = ()


@dataclass(frozen=True)
class Login:
    """`claimed` is False on later logins of the same game day (nothing granted);
    `replayed` is True when a retry was answered the call's first answer (its bonus)."""

    claimed: bool
    streak: int
    reward: Amounts
    next_claim_at: datetime
    balances: Amounts
    progress: Progress
    replayed: bool


@dataclass(frozen=True)
class AdReward:
    transaction_id: str | None  # None: a daily earning cap cut the reward to nothing
    reward: Amounts
    ads_watched: int
    ads_limit: int
    balances: Amounts
    progress: Progress
    replayed: bool


@dataclass(frozen=True)
class GrantedLevel:
    level: int
    reward: Amounts  # what reaching it credited: the rules' reward less any cap's cut


@dataclass(frozen=True)
class BattlePass:
    player_id: str
    season: str
    season_start: date
    season_end: date  # exclusive
    xp: int
    level: int
    xp_to_next_level: int
    rewards_granted: tuple[GrantedLevel, ...]


@dataclass(frozen=True)
class ToolOfTheDay:
    tool: str
    game_day: date
    next_reset_at: datetime


@dataclass(frozen=True)
class PlayerSettings:
    player_id: str
    timezone: str | None  # an IANA name; None: the player follows the game calendar


@dataclass(frozen=True)
class Ban:
    id: str
    kind: str
    target: str
    reason: str
    created_at: datetime
    expires_at: datetime | None
    created_by: str


@dataclass(frozen=True)
class PlacedBan:
    """`created` is False when the target's ban in force was extended instead."""

    ban: Ban
    created: bool


# Batches ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExamAttempt:
    """One exam result of a batch (`record_exams`); its exam_id is its idempotency key."""

    player_id: str
    exam_id: str
    category_id: str
    score: int
    total_questions: int
    correct_answers: int


@dataclass(frozen=True)
class GrantOrder:
    """One grant of a batch (`grant_batch`); without a key, one is made for it once, so
    a retry of the batch repeats it."""

    player_id: str
    resources: Amounts
    reason: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class BatchItem(Generic[T]):
    """One item's answer in a batch, in the order sent: its `result`, or its `error`
    (the exception the single call would have raised, not raised here)."""

    status: int
    result: T | None
    error: QuestboardError | None

    @property
    def ok(self) -> bool:
        return self.error is None


__all__ = [
    "AdReward",
    "Amounts",
    "Ban",
    "BatchItem",
    "BattlePass",
    "BoardPage",
    "BoardResult",
    "Catalog",
    "CatalogItem",
    "Daily",
    "DailyBonus",
    "Entry",
    "ExamAttempt",
    "ExamSummary",
    "GrantOrder",
    "GrantedLevel",
    "Health",
    "LeagueCohort",
    "LeagueMember",
    "LedgerEntry",
    "LedgerPage",
    "LevelReward",
    "Login",
    "MissionProgress",
    "MissionState",
    "Missions",
    "PlacedBan",
    "PlayerLeague",
    "PlayerRanks",
    "PlayerSettings",
    "PrizeRefused",
    "Progress",
    "Purchase",
    "RankedBoard",
    "Standing",
    "StreakRepair",
    "StreakRepairOffer",
    "ToolOfTheDay",
    "Transaction",
    "Wallet",
    "Xp",
]
