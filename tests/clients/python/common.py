"""Test data shared by all Python client tests.

Every test produces N_RECORDS records to a topic with PARTITIONS partitions, record i going to
partition i % PARTITIONS, so partition p must hold records p, p+P, p+2P, ... at offsets 0, 1, 2, ...
in exactly that order (producers are configured so that send order is preserved).
"""

import hashlib
import os
import time
import uuid

N_RECORDS = int(os.environ.get("WREN_TEST_RECORDS", "10000"))
PARTITIONS = 3
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]

# Record timestamps are explicit, strictly increasing by STEP_MS in send order, and an hour in the
# past so that they can never be confused with broker append time ("now").
STEP_MS = 10


def unique_topic(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def base_timestamp_ms():
    return (int(time.time() * 1000) - 3_600_000) // 1000 * 1000


class Rec:
    __slots__ = ("i", "partition", "offset", "key", "value", "headers", "timestamp")

    def __init__(self, i, partition, offset, key, value, headers, timestamp):
        self.i, self.partition, self.offset = i, partition, offset
        self.key, self.value, self.headers, self.timestamp = key, value, headers, timestamp

    def as_tuple(self):
        return (self.partition, self.offset, self.key, self.value, self.headers, self.timestamp)


def make_records(codec, base_ts, n=N_RECORDS, partitions=PARTITIONS):
    """Deterministic records: distinct keys, varied values (some null), two headers each."""
    recs = []
    for i in range(n):
        key = f"key-{i:06d}".encode()
        if i % 1000 == 999:
            value = None  # tombstones must survive as null, not as b""
        else:
            digest = hashlib.sha256(f"{codec}:{i}".encode()).hexdigest()
            # 40..~300 bytes, partly compressible, partly not.
            value = (f"value-{i}|" + digest * (1 + i % 4)).encode() + bytes([i % 256, (i * 7) % 256])
        headers = [("h-index", str(i).encode()), ("h-codec", codec.encode())]
        p = i % partitions
        recs.append(Rec(i, p, i // partitions, key, value, headers, base_ts + i * STEP_MS))
    return recs


def expected_by_partition(recs, partitions=PARTITIONS):
    out = {p: [] for p in range(partitions)}
    for r in recs:
        out[r.partition].append(r.as_tuple())
    return out


def end_offsets(recs, partitions=PARTITIONS):
    ends = {p: 0 for p in range(partitions)}
    for r in recs:
        ends[r.partition] = max(ends[r.partition], r.offset + 1)
    return ends


def offset_for_time(recs, partition, target_ts):
    """What Kafka's ListOffsets by timestamp returns: the earliest offset whose timestamp >= target,
    or None when there is no such record (the broker then answers offset -1)."""
    cands = [r.offset for r in recs if r.partition == partition and r.timestamp >= target_ts]
    return min(cands) if cands else None


def middle_target(base_ts, n=N_RECORDS):
    """A timestamp strictly between record n/2-1 and record n/2 (so exact-match bugs show up)."""
    return base_ts + (n // 2) * STEP_MS - STEP_MS // 2


def diff_summary(expected, actual, limit=5):
    """Short human-readable description of the first differences between two record lists."""
    lines = [f"expected {len(expected)} records, got {len(actual)}"]
    for idx, (e, a) in enumerate(zip(expected, actual)):
        if e != a:
            lines.append(f"  first mismatch at index {idx}:\n    expected {e!r}\n    actual   {a!r}")
            if len(lines) > limit:
                break
    return "\n".join(lines)


def assert_same_records(expected_map, actual_map, label=""):
    for p in sorted(expected_map):
        exp, act = expected_map[p], actual_map.get(p, [])
        assert exp == act, f"{label} partition {p}: " + diff_summary(exp, act)
    extra = set(actual_map) - set(expected_map)
    assert not extra, f"{label} records from unexpected partitions {extra}"
