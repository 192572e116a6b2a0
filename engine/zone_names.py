"""The time zone names a game (GAME_TIMEZONE) or a player (their own zone) may choose:
the places the zone database lists, the same on every host.

zoneinfo opens more names than it lists: `localtime` is the host's own zone (a link to
/etc/localtime on a system database), so it would mean a different zone on each web
node, worker and scheduler; `Factory` is the database's "no zone set" marker; the
`posix/` and `right/` copies and `posixrules` are not names of the database (a `right/`
zone counts leap seconds, so its days start 27 s off its place's).
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

NOT_PLACES = frozenset({"localtime", "Factory"})


@cache
def known_zones() -> frozenset[str]:
    """Every zone name that is a place: the database's list without NOT_PLACES."""
    return frozenset(available_timezones()) - NOT_PLACES
