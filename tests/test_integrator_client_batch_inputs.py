"""The batch calls' inputs are importable where the client's README sends a reader.

README.md's Python client section names `record_exams([ExamAttempt(...), ...])` and
`grant_batch([GrantOrder(...), ...])` beside `from questboard_client import
InsufficientFunds, Questboard`, but the package exported neither, so `from
questboard_client import ExamAttempt` was an ImportError: they are the only values a
caller builds to call the client, and the package's top level now exports them.
"""

from __future__ import annotations

import questboard_client
from questboard_client import models


def test_the_batch_inputs_are_exported_at_the_top_level():
    from questboard_client import ExamAttempt, GrantOrder

    assert ExamAttempt is models.ExamAttempt
    assert GrantOrder is models.GrantOrder
    assert {"ExamAttempt", "GrantOrder"} <= set(questboard_client.__all__)
