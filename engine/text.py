"""Free text an admin writes for others to read: the reason of a ban or of a grant, the
description of a webhook subscription.

It is kept as written and read back in the admin routes, the CLI's tables, the ledger,
the logs and the webhook payloads, so it is one line of printable characters and not
blank. A control character (ESC starting a terminal escape, a NUL, a line break, DEL)
would reach every one of them as it is.
"""

from __future__ import annotations

import re

from engine.errors import InvalidInputError

# Never: a C0 or C1 control character (line breaks, tab, ESC and DEL among them),
# Unicode's line and paragraph separators (U+2028, U+2029: a line break wherever text is
# laid out), or a bidirectional embedding, override or isolate (U+202A-U+202E,
# U+2066-U+2069: they reorder what a table shows, so it reads as another text).
# And at least one character that is neither white space nor invisible (soft hyphen,
# zero-width space and joiners, marks, word joiner, byte order mark, and the characters
# that draw a blank: the Hangul fillers, the braille blank, variation selectors, the
# combining grapheme joiner, Mongolian's vowel separator, Khmer's inherent vowels and the
# Arabic letter mark): the joiners and selectors stay allowed inside text (an emoji
# sequence, Persian). Anchored, with \u escapes that Python and JSON Schema (ECMA-262)
# read alike: the API's spec shows it as it is.
_NEVER = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_INVISIBLE = (
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064"
    r"\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
)
READABLE_LINE = re.compile(rf"^[^{_NEVER}]*[^\s{_NEVER}{_INVISIBLE}][^{_NEVER}]*$")
# What may be left empty (a webhook subscription's description): empty, or such a line.
READABLE_LINE_OR_EMPTY = re.compile(rf"^$|{READABLE_LINE.pattern}")
MAX_REASON = 200
REASON_RULE = f"One line of 1 to {MAX_REASON} printable characters, not blank."


def check_reason(reason: str) -> None:
    """Raises InvalidInputError unless `reason` is one readable line of at most 200."""
    if len(reason) > MAX_REASON or not READABLE_LINE.fullmatch(reason):
        raise InvalidInputError(
            f"The reason is not valid: {REASON_RULE}", {"reason": [REASON_RULE]}
        )
