"""Compares two transcripts (Kafka's, Wren's) of the scenario in tests/kafka/oracle.

A transcript is a list of {step, api, version, response}. Before comparing, each is normalised
for what legitimately differs between two brokers: throttle times, cluster and controller ids,
hosts and ports, the epoch of finalized features, broker-written timestamps (control batches),
and the identifiers a broker picks itself (topic ids, producer ids, member ids), which are
replaced by their order of first appearance ("topic-id-1", ...). Error messages are free text:
only whether there is one is compared.

Arrays whose elements carry an identity (a name, an API key, a partition index, ...) are
compared by that identity, so order does not matter and paths read `topics[oracle-a]/...`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

DROPPED = {"throttleTimeMs", "clusterId", "controllerId", "host", "port", "clientHost"}
# Identifiers a broker chooses; canonicalised per transcript by order of first appearance.
RENAMED = {"topicId": "topic-id", "producerId": "pid", "memberId": "member", "leader": "member"}
ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"
# Times a broker may take from its own clock (a transaction's start; DescribeProducers' last
# timestamp, which is a marker's when the producer's last batch was one): compared only as
# "set or not".
BROKER_TIMES = {"transactionStartTimeMs", "lastTimestamp"}
IDENTITY_KEYS = ("name", "apiKey", "partitionIndex", "index", "partition", "groupId", "key",
                 "coordinatorKey", "resourceName", "transactionalId", "topicName")


@dataclass(frozen=True)
class Difference:
    step: str   # "fetch@v16" (a second call of the same step and version gets "#2")
    path: str   # "responses[0]/partitions[0]/highWatermark"
    kafka: object
    wren: object

    def __str__(self) -> str:
        return f"{self.step}: {self.path}: kafka={short(self.kafka)} wren={short(self.wren)}"


def short(value: object, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Normaliser:
    def __init__(self) -> None:
        self.names: dict[tuple[str, object], str] = {}

    def rename(self, kind: str, value: object) -> object:
        if value in (None, "", -1, ZERO_UUID):
            return value
        key = (kind, value)
        if key not in self.names:
            self.names[key] = f"{kind}-{sum(1 for k in self.names if k[0] == kind) + 1}"
        return self.names[key]

    def value(self, node: object, key: str | None = None) -> object:
        if isinstance(node, dict):
            control = node.get("isControlBatch") is True
            # Wren lists __consumer_offsets from the start, Kafka once a group uses it (a known
            # difference): its id gets a name of its own, so the ids after it keep their numbers.
            internal = node.get("name") == "__consumer_offsets"
            out = {}
            for k, v in node.items():
                if k in DROPPED:
                    continue
                if internal and k == "topicId":
                    out[k] = "topic-id-__consumer_offsets"
                    continue
                if k in ("errorMessage", "batchIndexErrorMessage"):
                    out[k] = None if v is None else "<message>"
                elif k in BROKER_TIMES:
                    out[k] = "<broker time>" if isinstance(v, int) and v > 0 else v
                elif k == "finalizedFeaturesEpoch":
                    out[k] = "<epoch>" if isinstance(v, int) and v >= 0 else v
                elif k in RENAMED and not isinstance(v, (dict, list)):
                    out[k] = self.rename(RENAMED[k], v)
                elif control and k in ("maxTimestamp", "records"):
                    # A control batch is stamped with the broker's clock when it is written.
                    out[k] = "<broker time>" if k == "maxTimestamp" else [
                        {**self.value(r), "timestamp": "<broker time>"} for r in v]
                else:
                    out[k] = self.value(v, k)
            return out
        if isinstance(node, list):
            return [self.value(v, key) for v in node]
        return node


def load(path: Path) -> dict[str, object]:
    """The transcript as step id -> normalised response, in order."""
    normaliser = Normaliser()
    steps: dict[str, object] = {}
    for entry in json.loads(Path(path).read_text()):
        base = entry["step"] + (f"@v{entry['version']}" if "version" in entry else "")
        step, n = base, 1
        while step in steps:
            n += 1
            step = f"{base}#{n}"
        steps[step] = entry.get("error") or normaliser.value(entry.get("response"))
    return steps


def identity(items: list) -> str | None:
    """The key that tells the elements of both lists apart, if there is one."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in IDENTITY_KEYS:
        values = [i.get(key) for i in items]
        if None not in values and len(set(map(json.dumps, values))) == len(values):
            return key
    return None


def diff(step: str, path: str, kafka: object, wren: object, out: list[Difference]) -> None:
    if isinstance(kafka, dict) and isinstance(wren, dict):
        for k in list(kafka) + [k for k in wren if k not in kafka]:
            sub = f"{path}/{k}" if path else k
            if k not in kafka or k not in wren:
                out.append(Difference(step, sub, kafka.get(k, "<absent>"), wren.get(k, "<absent>")))
            else:
                diff(step, sub, kafka[k], wren[k], out)
        return
    if isinstance(kafka, list) and isinstance(wren, list):
        key = identity(kafka)
        if key is None or identity(wren) not in (key, None) or (wren and identity(wren) is None):
            key = None
        if key is None:
            if len(kafka) != len(wren):
                out.append(Difference(step, f"{path}.length", len(kafka), len(wren)))
            for i, (a, b) in enumerate(zip(kafka, wren)):
                diff(step, f"{path}[{i}]", a, b, out)
            return
        by_k = {json.dumps(i[key]).strip('"'): i for i in kafka}
        by_w = {json.dumps(i[key]).strip('"'): i for i in wren}
        for ident in list(by_k) + [i for i in by_w if i not in by_k]:
            sub = f"{path}[{ident}]"
            if ident not in by_k or ident not in by_w:
                out.append(Difference(step, sub, by_k.get(ident, "<absent>"), by_w.get(ident, "<absent>")))
            else:
                diff(step, sub, by_k[ident], by_w[ident], out)
        return
    if kafka != wren:
        out.append(Difference(step, path, kafka, wren))


def compare(kafka_file: Path, wren_file: Path) -> list[Difference]:
    kafka, wren = load(kafka_file), load(wren_file)
    out: list[Difference] = []
    for step in list(kafka) + [s for s in wren if s not in kafka]:
        if step not in kafka or step not in wren:
            out.append(Difference(step, "", kafka.get(step, "<no such step>"), wren.get(step, "<no such step>")))
        else:
            diff(step, "", kafka[step], wren[step], out)
    return out


@dataclass
class Known:
    step: str
    path: str
    reason: str
    used: bool = False
    optional: bool = False  # Kafka's side depends on its internal state: may not show

    def matches(self, d: Difference) -> bool:
        return glob(self.step).fullmatch(d.step) is not None and glob(self.path).fullmatch(d.path) is not None


def glob(pattern: str) -> re.Pattern:
    """`*` matches anything; every other character (brackets too) stands for itself."""
    return re.compile(".*".join(map(re.escape, pattern.split("*"))))


def known_differences(path: Path) -> list[Known]:
    """Lines `STEP-GLOB  PATH-GLOB  reason...` (blank lines and # comments skipped; `-` is the
    empty path of a whole step; a step glob starting with `?` may match nothing)."""
    known = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            step, where, reason = (line.split(None, 2) + [""])[:3]
            optional = step.startswith("?")
            known.append(Known(step.lstrip("?"), "" if where == "-" else where, reason, optional=optional))
    return known


def classify(differences: list[Difference], known: list[Known]) -> list[Difference]:
    """The differences no known entry explains; marks the entries that explain one."""
    unexplained = []
    for d in differences:
        hits = [k for k in known if k.matches(d)]
        for k in hits:
            k.used = True
        if not hits:
            unexplained.append(d)
    return unexplained
