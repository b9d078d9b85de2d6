"""The comparison itself (differential.py), on small hand-made transcripts: what it must ignore,
what it must report, and how known differences match."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import differential  # noqa: E402


def write(tmp_path: Path, name: str, steps: list) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(steps))
    return path


def step(name: str, response: dict, version: int = 1) -> dict:
    return {"step": name, "api": "X", "version": version, "response": response}


def compare(tmp_path, kafka: list, wren: list) -> list[str]:
    return [f"{d.step} {d.path}" for d in differential.compare(write(tmp_path, "k", kafka),
                                                               write(tmp_path, "w", wren))]


def test_ids_ports_throttle_and_message_text_are_not_differences(tmp_path):
    kafka = [step("s", {"throttleTimeMs": 5, "topicId": "AAAAAAAAAAAAAAAAAAAAAQ", "producerId": 1000,
                        "host": "a", "port": 1, "errorMessage": "Kafka's words"}),
             step("t", {"topicId": "AAAAAAAAAAAAAAAAAAAAAQ", "producerId": 1000})]
    wren = [step("s", {"throttleTimeMs": 0, "topicId": "BBBBBBBBBBBBBBBBBBBBBQ", "producerId": 0,
                       "host": "b", "port": 2, "errorMessage": "Wren's words"}),
            step("t", {"topicId": "BBBBBBBBBBBBBBBBBBBBBQ", "producerId": 0})]
    assert compare(tmp_path, kafka, wren) == []


def test_an_id_that_changes_where_kafkas_stays_is_a_difference(tmp_path):
    kafka = [step("s", {"producerId": 7}), step("t", {"producerId": 7})]
    wren = [step("s", {"producerId": 0}), step("t", {"producerId": 1})]
    assert compare(tmp_path, kafka, wren) == ["t@v1 producerId"]


def test_values_missing_fields_and_steps_are_differences(tmp_path):
    kafka = [step("s", {"errorCode": 3, "errorMessage": None, "only": 1}), step("gone", {})]
    wren = [step("s", {"errorCode": 0, "errorMessage": "x"})]
    assert compare(tmp_path, kafka, wren) == ["s@v1 errorCode", "s@v1 errorMessage", "s@v1 only",
                                              "gone@v1 "]


def test_lists_with_an_identity_are_matched_by_it(tmp_path):
    kafka = [step("s", {"topics": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]})]
    same = [step("s", {"topics": [{"name": "b", "n": 2}, {"name": "a", "n": 1}]})]
    other = [step("s", {"topics": [{"name": "a", "n": 1}, {"name": "c", "n": 2}]})]
    assert compare(tmp_path, kafka, same) == []
    assert compare(tmp_path, kafka, other) == ["s@v1 topics[b]", "s@v1 topics[c]"]


def test_control_batch_timestamps_are_the_brokers_clock(tmp_path):
    batch = {"isControlBatch": True, "maxTimestamp": 1, "records": [{"offset": 2, "timestamp": 1}]}
    later = {"isControlBatch": True, "maxTimestamp": 9, "records": [{"offset": 2, "timestamp": 9}]}
    data = {"isControlBatch": False, "maxTimestamp": 1, "records": [{"offset": 0, "timestamp": 1}]}
    moved = {"isControlBatch": False, "maxTimestamp": 9, "records": [{"offset": 0, "timestamp": 9}]}
    assert compare(tmp_path, [step("f", {"records": [batch]})], [step("f", {"records": [later]})]) == []
    assert compare(tmp_path, [step("f", {"records": [data]})], [step("f", {"records": [moved]})]) == [
        "f@v1 records[0]/maxTimestamp", "f@v1 records[0]/records[0]/timestamp"]


def test_known_differences_match_literal_brackets_and_mark_what_they_explain(tmp_path):
    known_file = tmp_path / "known.txt"
    known_file.write_text("# comment\n"
                          "api-versions@v*  apiKeys[17]  not implemented\n"
                          "?fetch@v*  records.length  optional\n"
                          "never@v1  -  stale\n")
    known = differential.known_differences(known_file)
    differences = [differential.Difference("api-versions@v3", "apiKeys[17]", {}, "<absent>"),
                   differential.Difference("api-versions@v3", "apiKeys[1]", {}, "<absent>")]
    unexplained = differential.classify(differences, known)
    assert [d.path for d in unexplained] == ["apiKeys[1]"]
    assert [(k.used, k.optional) for k in known] == [(True, False), (False, True), (False, False)]
