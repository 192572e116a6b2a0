"""A client generated from the spec with openapi-python-client works against the server.

The spec is generated from the app, the client from the spec (into a temporary
folder), and the client talks to a real HTTP server on a loopback port (werkzeug, the
app on fakeredis and a fixed clock). Each answer must come back parsed into the typed
model the spec names: a purchase, its replay, a leaderboard page, and a 409 as Error.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ADMIN_KEY, EXAM, SERVER_KEY

PACKAGE = "generated_questboard_client"  # not questboard_client, the shipped client


@pytest.fixture
def base_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def generated_folders() -> dict[str, Path]:
    """The folders of the client packages generated in this module, by the text of the
    spec each came from: the generator takes seconds, and one spec gives one client."""
    return {}


def generate_client(spec_text: str, folder: Path) -> None:
    """openapi-python-client's package generated from `spec_text` into `folder`."""
    spec = folder / "openapi.json"
    spec.write_text(spec_text)
    config = folder / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    output = folder / PACKAGE
    command = Path(sys.executable).parent / "openapi-python-client"
    arguments = ["--path", spec, "--output-path", output, "--meta", "none", "--config", config]
    result = subprocess.run(
        [command, "generate", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unable to" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.fixture
def generated(app, generated_folders, tmp_path_factory):
    """The client package generated from this app's spec, imported (generated once for
    the tests whose apps serve the same spec)."""
    spec_text = json.dumps(app.test_client().get("/openapi.json").get_json())
    if spec_text not in generated_folders:
        folder = tmp_path_factory.mktemp("generated-client")
        generate_client(spec_text, folder)
        generated_folders[spec_text] = folder
    folder = generated_folders[spec_text]
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_generated_client_buys_replays_reads_a_board_and_parses_a_409(generated, base_url):
    api = importlib.import_module(f"{PACKAGE}.api.purchases.create_purchase")
    grants = importlib.import_module(f"{PACKAGE}.api.grants.create_grant")
    exams = importlib.import_module(f"{PACKAGE}.api.exams.record_exam")
    board = importlib.import_module(f"{PACKAGE}.api.leaderboards.list_leaderboard")
    models = importlib.import_module(f"{PACKAGE}.models")
    server = generated.AuthenticatedClient(base_url=base_url, token=SERVER_KEY)
    admin = generated.AuthenticatedClient(base_url=base_url, token=ADMIN_KEY)

    granted = grants.sync_detailed(
        "alice",
        client=admin,
        body=models.GrantRequest(
            resources=models.GrantRequestResources.from_dict({"coins": 500}), reason="welcome"
        ),
        idempotency_key="welcome-alice",
    )
    assert granted.status_code == 201
    assert isinstance(granted.parsed, models.Transaction)
    assert granted.parsed.balances.to_dict()["coins"] == 500

    order = models.PurchaseRequest(item="steel", quantity=2)
    bought = api.sync_detailed("alice", client=server, body=order, idempotency_key="order-1")
    assert bought.status_code == 201
    purchase = bought.parsed
    assert isinstance(purchase, models.Purchase)
    assert (purchase.item, purchase.quantity) == ("steel", 2)
    assert purchase.cost.to_dict() == {"coins": 100}
    assert purchase.balances.to_dict()["steel"] == 2
    assert "Idempotent-Replayed" not in bought.headers

    replay = api.sync_detailed("alice", client=server, body=order, idempotency_key="order-1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.to_dict() == purchase.to_dict()

    too_many = models.PurchaseRequest(item="steel", quantity=100)
    refused = api.sync_detailed("alice", client=server, body=too_many, idempotency_key="o-2")
    assert refused.status_code == 409
    assert isinstance(refused.parsed, models.Error)
    assert refused.parsed.error.code == models.ErrorInfoCode.INSUFFICIENT_FUNDS
    assert refused.parsed.error.details.to_dict() == {
        "resource": "coins",
        "required": 5000,
        "available": purchase.balances.to_dict()["coins"],  # 400 and any mission reward
    }

    exam = models.ExamRequest.from_dict(EXAM)
    recorded = exams.sync_detailed("alice", client=server, body=exam)
    assert recorded.status_code == 201
    assert isinstance(recorded.parsed, models.ExamSummary)

    page = board.sync(models.ListLeaderboardPeriodType.WEEKLY, client=server, category="math")
    assert isinstance(page, models.BoardPage)
    assert (page.board, page.category, page.period, page.total_players) == (
        "weekly",
        "math",
        "2026-W48",
        1,
    )
    [entry] = page.entries
    assert isinstance(entry, models.Entry)
    assert (entry.rank, entry.player_id, entry.score) == (1, "alice", EXAM["score"])


def test_a_generated_client_reads_a_closed_periods_prizes(generated, base_url, app, clock):
    from datetime import UTC, datetime

    from engine.boards import exams, prizes
    from engine.boards.exams import Exam
    from tests.test_board_prizes import with_prizes

    board = importlib.import_module(f"{PACKAGE}.api.leaderboards.list_leaderboard")
    models = importlib.import_module(f"{PACKAGE}.models")
    server = generated.AuthenticatedClient(base_url=base_url, token=SERVER_KEY)
    engine = with_prizes(app.extensions["questboard.engine"])
    exams.record_exam(engine, "alice", Exam("a1", "math", 90, 10, 9))
    exams.record_exam(engine, "bob", Exam("b1", "math", 50, 10, 5))
    clock.set(datetime(2026, 11, 30, 3, 10, tzinfo=UTC))  # 2026-W48 ended at 03:00
    prizes.close_ended(engine)

    page = board.sync(models.ListLeaderboardPeriodType.WEEKLY, client=server, period="2026-W48")

    assert isinstance(page, models.BoardPage)
    first, second = page.entries
    assert first.prize.to_dict() == {"coins": 1000}
    assert second.prize.to_dict() == {"coins": 100}
