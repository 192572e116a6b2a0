"""The service as deployed: the Procfile's granian, spoken to over raw sockets.

granian's HTTP layer (Rust) answers some requests itself, before the app sees them: a
malformed request line or header, a bad Content-Length, a request head over the
Procfile's --http1-buffer-size or with more than 100 headers. Its answer is a status
with an empty body (the tests below pin which); everything else reaches the app and
its JSON error body, and a chunked body meets the size limit as a declared one does.
The workers behind it (recycling, sockets, signals): tests/test_http_server_workers.py.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ADMIN_KEY
from tests.granian_server import exchange, request_bytes


def json_error(headers: dict[str, str], body: bytes) -> dict:
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert set(error) == {"error"}
    assert set(error["error"]) == {"code", "message", "details"}
    return error["error"]


def test_a_plain_request_is_served(server_port):
    status, _, body = exchange(server_port, request_bytes("GET", "/healthz"))
    assert status == 200
    assert json.loads(body)["status"] == "ok"


def granian_answer(headers: dict[str, str], body: bytes) -> None:
    """granian's own answer to a request its HTTP layer rejects: a status, no body, the
    connection closed. The app never sees the request."""
    assert body == b""
    assert headers["content-length"] == "0"
    assert headers["connection"] == "close"
    assert "content-type" not in headers


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        b"G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /he\x00althz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/players/\xff/wallet HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
        b"POST /v1/catalog HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ],
    ids=[
        "request-line",
        "version",
        "method",
        "nul-in-path",
        "not-utf8-path",
        "header-name",
        "folded-header",
        "bad-length",
    ],
)
def test_a_request_granian_cannot_parse_is_its_own_empty_400(server_port, raw):
    status, headers, body = exchange(server_port, raw)
    assert status == 400
    granian_answer(headers, body)


def test_a_length_beside_chunked_reaches_the_app_as_chunked(server_port):
    raw = (
        b"POST /v1/catalog HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    status, headers, body = exchange(server_port, raw)
    assert status == 401  # the app's answer: no API key
    assert json_error(headers, body)["code"] == "unauthorized"


def test_a_request_head_over_the_buffer_is_granians_own_431(server_port):
    """The Procfile's --http1-buffer-size 65536 bounds the request line with the headers."""
    target = "/v1/catalog?pad=" + "x" * 70_000
    status, headers, body = exchange(server_port, request_bytes("GET", target))
    assert status == 431
    granian_answer(headers, body)
    large = {"X-Pad": "x" * 70_000}
    status, headers, body = exchange(server_port, request_bytes("GET", "/healthz", large))
    assert status == 431
    granian_answer(headers, body)


def test_more_than_a_hundred_headers_is_granians_own_431(server_port):
    many = {f"X-Pad-{n}": "1" for n in range(200)}
    status, headers, body = exchange(server_port, request_bytes("GET", "/healthz", many))
    assert status == 431
    granian_answer(headers, body)


def test_a_long_uri_and_header_under_the_buffer_reach_the_app(server_port):
    target = "/v1/catalog?pad=" + "x" * 10_000
    status, headers, body = exchange(server_port, request_bytes("GET", target))
    assert status == 401
    assert json_error(headers, body)["code"] == "unauthorized"
    large = {"X-Pad": "x" * 20_000}
    assert exchange(server_port, request_bytes("GET", "/healthz", large))[0] == 200


def test_a_bad_chunk_size_reaches_the_app_as_an_empty_body(server_port):
    request = request_bytes(
        "POST",
        "/v1/admin/players/alice/grants",
        {
            "Authorization": f"Bearer {ADMIN_KEY}",
            "Idempotency-Key": "chunk",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        b"zz\r\n{}\r\n0\r\n\r\n",
    )
    status, headers, body = exchange(server_port, request)
    assert status == 400
    assert json_error(headers, body)["code"] == "validation_error"


def chunked(body: bytes, size: int = 4096) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def grant_request(body: bytes, key: str) -> bytes:
    return request_bytes(
        "POST",
        "/v1/admin/players/alice/grants",
        {
            "Authorization": f"Bearer {ADMIN_KEY}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        chunked(body),
    )


def test_a_chunked_body_over_the_limit_is_a_json_413(server_port):
    body = json.dumps({"resources": {"coins": 5}, "reason": "big"}).encode()
    status, headers, answer = exchange(
        server_port, grant_request(body + b" " * 40_000, "chunked-big")
    )
    assert status == 413
    assert json_error(headers, answer) == {
        "code": "validation_error",
        "message": "The request body is too large.",
        "details": {"body": ["The request body is too large."]},
    }


def test_a_chunked_body_under_the_limit_is_read_whole(server_port):
    body = json.dumps({"resources": {"coins": 5}, "reason": "small"}).encode()
    status, _, answer = exchange(server_port, grant_request(body + b" " * 10_000, "chunked-ok"))
    assert status == 201
    assert json.loads(answer)["balances"]["coins"] == 5
