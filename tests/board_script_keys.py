"""One board's keys and its score encoding, for the direct tests of the board scripts.

tests/test_board_scripts.py and tests/test_script_read_board.py write and read the
same board: a total's composite score is total * M + TOP for its first arrival, one less
for each later one.
"""

from __future__ import annotations

M = 1 << 24
TOP = M - 1  # the first arrival at a total: total * M + TOP
SCORES, AGGREGATES = "qb:{lb:t}:scores", "qb:{lb:t}:aggregates"
RANKS = "qb:{lb:t}:snapshot:ranks"
