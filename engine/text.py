"""Free text an admin writes for others to read: the reason of a ban or of a grant.

It is kept as written and read back in the admin routes, the CLI's tables, the ledger,
the logs and the webhook payloads, so it is one line of printable characters and not
blank. A control character (ESC starting a terminal escape, a NUL, a line break, DEL)
would reach every one of them as it is.
"""

from __future__ import annotations

import re

from engine.errors import InvalidInputError

# No C0 or C1 control character (line breaks, tab, ESC and DEL among them), and at least
# one character that is not white space. Anchored: the API's spec shows it as it is.
READABLE_LINE = re.compile(r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")
MAX_REASON = 200
REASON_RULE = f"One line of 1 to {MAX_REASON} printable characters, not blank."


def check_reason(reason: str) -> None:
    """Raises InvalidInputError unless `reason` is one readable line of at most 200."""
    if len(reason) > MAX_REASON or not READABLE_LINE.fullmatch(reason):
        raise InvalidInputError(
            f"The reason is not valid: {REASON_RULE}", {"reason": [REASON_RULE]}
        )
