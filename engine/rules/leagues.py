"""The `[leagues]` rules: tiers, cohort size, promotion and relegation, prizes.

Every field has a default, so a rules file without `[leagues]` runs weekly leagues of
30 players on the exam score, with no prizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType

from engine.rules.fields import Field, RulesError

DEFAULT_TIERS = (
    "bronze",
    "silver",
    "gold",
    "sapphire",
    "ruby",
    "emerald",
    "amethyst",
    "pearl",
    "obsidian",
    "diamond",
)
PERIOD_TYPES = ("weekly", "monthly")


@dataclass(frozen=True)
class LeagueRules:
    tiers: tuple[str, ...]  # lowest first
    cohort_size: int
    promote: int  # the top this many of a cohort move up a tier (none from the top tier)
    relegate: int  # the bottom this many move down (none from the lowest tier)
    absent_drop: int  # tiers a player drops for each whole period without playing
    period: str  # "weekly" or "monthly", on the game calendar
    score: str  # "global" (every exam) or one board category
    prizes: MappingProxyType  # tier -> ((first rank, last rank, {resource: amount}), ...)

    def tier_index(self, tier: str) -> int:
        return self.tiers.index(tier)

    def zone(self, tier: str, position: int, members: int, *, rank: int, score: int) -> str:
        """ "promotion", "relegation" or "stay" for the `position`-th (1-based, in the
        standings' order) of a cohort of `members`, whose competition `rank` among them
        is `rank` and whose score is `score`.

        The zones are sized by the members the close ranks, however few: the top
        min(`promote`, members) positions are the promotion zone (none in the top
        tier), then the bottom `relegate` positions of the rest the relegation zone
        (none in the lowest tier). Two rules hold inside them, for the small cohorts
        whose zones cover (nearly) everyone: a member who scored nothing in the period
        (`score` 0) is never promoted (they stay, and the close pays them no placement
        prize: nobody is paid or moved up for what they did not do), and a member
        ranked first (alone or tied) is never relegated (nobody goes down for having
        nobody to beat). A lone player thus stays in their tier unless they scored,
        and then moves up from any tier but the top.

        A tier the rules no longer list (dropped during its period) has no zones:
        everyone "stay"s, and starts again in the lowest tier (tier_after)."""
        if tier not in self.tiers:
            return "stay"
        index = self.tier_index(tier)
        promoted = min(self.promote, members) if index < len(self.tiers) - 1 else 0
        if position <= promoted:
            return "promotion" if score > 0 else "stay"
        if index > 0 and rank > 1 and position > max(members - self.relegate, promoted):
            return "relegation"
        return "stay"

    def next_tier(self, tier: str, position: int, members: int, *, rank: int, score: int) -> str:
        """The tier a player plays in next after finishing at `position` of `members`
        (with that `rank` and `score`: see `zone`)."""
        return self.tier_after(tier, self.zone(tier, position, members, rank=rank, score=score))

    def tier_after(self, tier: str, zone: str) -> str:
        """The tier after a period finished in `zone` of `tier`."""
        step = {"promotion": 1, "relegation": -1, "stay": 0}[zone]
        if tier not in self.tiers:  # as after an absence: start again
            return self.tiers[0]
        return self.tiers[self.tier_index(tier) + step]

    def after_absence(self, tier: str, periods: int) -> str:
        """The tier of a player who did not play for `periods` whole periods."""
        if tier not in self.tiers:  # a tier the rules no longer list: start again
            return self.tiers[0]
        return self.tiers[max(0, self.tier_index(tier) - self.absent_drop * periods)]

    def prize_for(self, tier: str, rank: int, score: int) -> dict[str, int]:
        """The placement prize of `rank` in `tier`; none for a member who scored nothing
        in the period (`score` 0), whatever their rank in a small cohort."""
        if score <= 0:
            return {}
        for first, last, amounts in self.prizes.get(tier, ()):
            if first <= rank <= last:
                return dict(amounts)
        return {}


def parse_leagues(field: Field, resources: tuple[str, ...], reward_limit: int) -> LeagueRules:
    if field.value is None:
        field = Field({}, field.path)
    field.only(
        "tiers", "cohort_size", "promote", "relegate", "absent_drop", "period", "score", "prizes"
    )
    tiers_field = field.child("tiers", list(DEFAULT_TIERS))
    if not isinstance(tiers_field.value, list) or not tiers_field.value:
        raise tiers_field.fail("must be a non-empty list of tier names, lowest first")
    tiers = tuple(
        Field(value, f"{tiers_field.path}[{i}]").name() for i, value in enumerate(tiers_field.value)
    )
    if len(set(tiers)) != len(tiers):
        raise tiers_field.fail("lists a tier twice")
    size = field.child("cohort_size", 30).integer(2, 1000)
    promote = field.child("promote", 5).integer(0, size)
    relegate = field.child("relegate", 5).integer(0, size)
    if promote + relegate > size:
        raise field.child("relegate").fail("plus promote must not exceed cohort_size")
    period = field.child("period", "weekly")
    if period.value not in PERIOD_TYPES:
        raise period.fail(f"must be one of {', '.join(PERIOD_TYPES)}")
    score = field.child("score", "global").text(64)
    prizes_field = field.child("prizes", {})
    prizes = {}
    for tier in prizes_field.table():
        entry = prizes_field.child(tier)
        if tier not in tiers:
            raise entry.fail("is not a tier listed in `tiers`")
        ranges = []
        for ranks in entry.table():
            first, last = _rank_range(entry.child(ranks), ranks, size)
            ranges.append((first, last, entry.child(ranks).amounts(resources, reward_limit)))
        ranges.sort(key=lambda item: item[0])
        for (_, last, _), (first, _, _) in pairwise(ranges):
            if first <= last:
                raise entry.fail("has overlapping rank ranges")
        prizes[tier] = tuple(ranges)
    return LeagueRules(
        tiers=tiers,
        cohort_size=size,
        promote=promote,
        relegate=relegate,
        absent_drop=field.child("absent_drop", 1).integer(0, len(tiers)),
        period=period.value,
        score=score,
        prizes=MappingProxyType(prizes),
    )


def _rank_range(field: Field, text: str, size: int) -> tuple[int, int]:
    """ "3" -> (3, 3); "2-10" -> (2, 10); within the cohort's ranks."""
    try:
        first, _, last = text.partition("-")
        low, high = int(first), int(last or first)
    except ValueError:
        raise field.fail('must be a rank ("1") or a range of ranks ("2-10")') from None
    if not 1 <= low <= high <= size:
        raise RulesError(f"{field.path}: ranks must be between 1 and cohort_size ({size})")
    return low, high
