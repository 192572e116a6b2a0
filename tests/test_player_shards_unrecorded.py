"""engine.shards on a Redis without a record: its data counts as written with 16 shards
when all of the 16 legacy outboxes exist and none beyond them up to the count started
with (the 16 are asked first, the others only when all 16 exist)."""

from __future__ import annotations

import fakeredis
import pytest

from config import Settings
from engine import keys, shards
from engine.runtime import build_engine


def make_outboxes(client, shard_numbers) -> None:
    for shard in shard_numbers:
        client.xgroup_create(f"qb:{{p{shard:02d}}}:outbox", "persist", mkstream=True)


@pytest.mark.parametrize(
    ("outboxes", "count", "legacy"),
    [
        (range(16), 64, True),
        (range(16), 1, True),
        ([], 64, False),
        ([], 1024, False),
        (range(15), 64, False),  # one of the 16 missing
        (range(1, 16), 1024, False),
        ([*range(16), 16], 64, False),  # one beyond, within the count: more shards
        ([*range(16), 1023], 1024, False),
        ([*range(16), 1023], 64, True),  # beyond the count asked for: not looked at
        ([*range(16), 16], 8, True),
        ([3], 8, False),
    ],
)
def test_data_counts_as_sixteen_shards_only_with_all_sixteen_outboxes_and_none_beyond(
    outboxes, count, legacy
):
    client = fakeredis.FakeRedis()
    make_outboxes(client, outboxes)
    if legacy:
        with pytest.raises(shards.PlayerShardsMismatchError, match="PLAYER_SHARDS=16, and"):
            build_engine(Settings(player_shards=count), client)
        assert client.get(keys.player_shards_record()) is None
    else:
        build_engine(Settings(player_shards=count), client)
        assert client.get(keys.player_shards_record()) == str(count).encode()
