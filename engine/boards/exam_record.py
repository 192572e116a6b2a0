"""An exam's replay record: its layout, and the summary it keeps in a compact encoding.

The record (`keys.exam`) lives as long as the idempotency records of other requests,
and is the largest thing a player's day leaves in Redis. It is one string: the
exam's fingerprint (its first 32 digits), then "|r" and the step-1 result
(record_exams.lua) until the boards are written, then "|s" and the summary in its place
(keep_exam_summaries.lua): about 250 bytes of Redis memory where a hash took about 440 (a
hashtable, since its values pass `hash-max-listpack-value`'s 64 bytes, and a hash
never goes back to a listpack). Records of the earlier layout, a hash (`fp`, `result`,
then `summary`), are read as well while they live out their TTL.

The summary as JSON is about 1 KB, mostly the same keys and board names in every
exam. Packed, it is the summary's JSON deflated (zlib, raw) against a preset dictionary
of those recurring parts, behind a one-byte version tag: about 100 bytes. Lua never
reads the summary (it only returns or keeps it), so only Python packs and unpacks it.
A summary stored as plain JSON (a record written before this encoding) starts with
"{", never with the tag, and is read as it is.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import orjson
from redis.exceptions import ResponseError

# What follows the fingerprint and its "|": the step-1 result, or the summary.
RESULT, SUMMARY = b"r", b"s"
# The record keeps the fingerprint's first 32 hex digits (128 bits of its SHA-256):
# enough to tell a copy of the exam from another result under the same exam id, and
# 32 bytes less a record (record_exams.lua compares the same 32).
FINGERPRINT_DIGITS = 32

# The tag of version 1. The dictionary below belongs to it: changing the dictionary
# needs a new tag (records written with the old one stay readable for their TTL).
TAG_V1 = b"\x01"
_DICTIONARY_V1 = (
    b'{"completed":true,"transaction_id":"1795874965591-0","target":3,"progress":3,'
    b'"id":"exams_3","xp":200,"reward":{"coins":25}}'
    b'"daily_bonus":{"streak":1,"transaction_id":"1795874965579-0","reward":{"logs":1}},'
    b'{"exam_id":"exam-1","player_id":"player-1","category_id":"science","score":71,'
    b'"total_questions":10,"correct_answers":7,"boards":['
    b'{"board":"weekly","category":null,"period":"2026-W48","score":141,"rank":1,'
    b'"exams":2,"accuracy":0.7},{"board":"weekly","category":"science","period":"2026-W48",'
    b'"score":71,"rank":1,"exams":1,"accuracy":0.7},'
    b'{"board":"monthly","category":null,"period":"2026-11","score":141,"rank":1,'
    b'"exams":2,"accuracy":0.7},{"board":"monthly","category":"science","period":"2026-11",'
    b'"score":71,"rank":1,"exams":1,"accuracy":0.7},'
    b'{"board":"yearly","category":null,"period":"2026","score":141,"rank":1,'
    b'"exams":2,"accuracy":0.7},{"board":"yearly","category":"science","period":"2026",'
    b'"score":71,"rank":1,"exams":1,"accuracy":0.7}],'
    b'"progress":{"daily_bonus":null,"missions":[{"id":"exams_3","completed":false,'
    b'"target":3,"progress":2}],"xp":{"gained":90,"total":180,"levels_gained":[],'
    b'"season":"2026-autumn","level":1},"level_rewards":[],"streak":1}}'
)
# A 4 KB window holds the dictionary and a summary; memLevel 2 keeps the compressor's
# tables small, which is most of its cost on a 1 KB input (about half of level 6's
# default time here, for the same size).
_LEVEL, _WBITS, _MEM_LEVEL = 6, -12, 2


def pack(summary_json: bytes) -> bytes:
    """The summary's JSON as the record keeps it."""
    deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL, zdict=_DICTIONARY_V1)
    return TAG_V1 + deflate.compress(summary_json) + deflate.flush()


def unpack(stored: bytes) -> bytes:
    """The summary's JSON from what the record keeps (packed, or JSON as it was)."""
    if stored[:1] != TAG_V1:
        return stored
    inflate = zlib.decompressobj(_WBITS, zdict=_DICTIONARY_V1)
    return inflate.decompress(stored[1:]) + inflate.flush()


def load(stored: bytes) -> Any:
    """The summary from what the record keeps."""
    return orjson.loads(unpack(stored))


def value(fingerprint: str, summary: bytes) -> bytes:
    """The record of an answered exam: its fingerprint's claim and packed summary."""
    return fingerprint[:FINGERPRINT_DIGITS].encode() + b"|" + SUMMARY + summary


def parse(stored: bytes) -> tuple[str | None, bytes | None]:
    """(fingerprint's first 32 digits, packed summary) of a record in the string layout;
    the summary is None while the record holds the step-1 result, the fingerprint None
    in a record its summary created alone (its step 1 expired first)."""
    fingerprint, _, rest = stored.partition(b"|")
    summary = rest[1:] if rest[:1] == SUMMARY else None
    return fingerprint.decode() or None, summary


def read(client: Any, records: Sequence[str]) -> list[tuple[str | None, bytes | None]]:
    """(fingerprint, packed summary) of each record, (None, None) where there is none:
    one round trip, and one more for records of the hash layout among them (which keep
    all 64 digits of the fingerprint)."""
    pipe = client.pipeline(transaction=False)
    for record in records:
        pipe.get(record)
    found: list[tuple[str | None, bytes | None]] = []
    hashes = []
    for index, stored in enumerate(pipe.execute(raise_on_error=False)):
        if isinstance(stored, ResponseError) and str(stored).startswith("WRONGTYPE"):
            hashes.append(index)
            stored = None
        elif isinstance(stored, Exception):
            raise stored
        found.append(parse(stored) if stored is not None else (None, None))
    if hashes:
        pipe = client.pipeline(transaction=False)
        for index in hashes:
            pipe.hmget(records[index], "fp", "summary")
        for index, (fingerprint, summary) in zip(hashes, pipe.execute(), strict=True):
            found[index] = (fingerprint.decode() if fingerprint else None, summary)
    return found
