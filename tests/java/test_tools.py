"""Kafka's own tools (Kafka 4.4) against Wren: the commands an operator runs and the system-test
programs of Kafka's transactions_test.py. Run by scripts/test-java.sh (WREN_BIN: the broker)."""

from __future__ import annotations

import collections
import os
import signal
import sys
import threading
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tools_support import (  # noqa: E402
    CONSOLE_CONSUMER, CONSOLE_PRODUCER, CONSUMER_GROUPS, COPIER, PRODUCER_PERF, TOPICS, TRANSACTIONS,
    VERIFIABLE_CONSUMER, VERIFIABLE_PRODUCER, Tools, Wren, json_lines, table,
)


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    """A Wren of its own; JAVA_TESTS_BOOTSTRAP: a broker already running (to check the tests
    themselves against Kafka)."""
    if os.environ.get("JAVA_TESTS_BOOTSTRAP"):
        yield os.environ["JAVA_TESTS_BOOTSTRAP"]
        return
    broker = Wren(tmp_path_factory.mktemp("wren"))
    yield broker.bootstrap
    assert broker.stop() == 0, "Wren did not exit cleanly on SIGTERM"


@pytest.fixture(scope="module")
def tools(bootstrap, tmp_path_factory):
    return Tools(tmp_path_factory.mktemp("tools"), bootstrap)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(tools: Tools, topic: str, partitions: int, *extra: str) -> None:
    out = tools.run(TOPICS, "--bootstrap-server", tools.bootstrap, "--create", "--topic", topic,
                    "--partitions", str(partitions), "--replication-factor", "1", *extra).stdout
    assert f"Created topic {topic}." in out


def tab_rows(text: str) -> list[dict]:
    """TransactionsCommand's tab-separated table: a header line, then rows."""
    lines = [line.split("\t") for line in text.splitlines() if line.strip()]
    header = [c.strip() for c in lines[0]]
    return [dict(zip(header, (c.strip() for c in row))) for row in lines[1:]]


def test_kafka_topics_creates_describes_alters_lists_and_deletes(tools):
    topic = name("topics")
    b = ["--bootstrap-server", tools.bootstrap]
    create_topic(tools, topic, 3, "--config", "retention.ms=3600000")
    described = tools.run(TOPICS, *b, "--describe", "--topic", topic).stdout
    assert "PartitionCount: 3" in described and "ReplicationFactor: 1" in described
    # Kafka 4.4 also lists its cluster-wide min.insync.replicas (FINDINGS.md) and server.properties keys.
    configs = described.split("Configs: ")[1].splitlines()[0].split(",")
    assert "retention.ms=3600000" in configs, described
    partitions = [line for line in described.splitlines() if "Partition: " in line]
    assert len(partitions) == 3
    assert all("Leader: 1" in p and "Replicas: 1" in p and "Isr: 1" in p for p in partitions), described
    duplicate = tools.run(TOPICS, *b, "--create", "--topic", topic, "--partitions", "1", check=False)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stdout + duplicate.stderr
    tools.run(TOPICS, *b, "--alter", "--topic", topic, "--partitions", "5")
    assert "PartitionCount: 5" in tools.run(TOPICS, *b, "--describe", "--topic", topic).stdout
    assert topic in tools.run(TOPICS, *b, "--list").stdout.split()
    tools.run(TOPICS, *b, "--delete", "--topic", topic)
    assert topic not in tools.run(TOPICS, *b, "--list").stdout.split()


def test_console_producer_to_console_consumer_round_trip(tools):
    topic = name("console")
    create_topic(tools, topic, 2)
    lines = [f"key{i}:value {i} ünïcode" for i in range(20)]
    tools.run(CONSOLE_PRODUCER, "--bootstrap-server", tools.bootstrap, "--topic", topic,
              "--reader-property", "parse.key=true", "--reader-property", "key.separator=:",
              stdin="\n".join(lines) + "\n")
    out = tools.run(CONSOLE_CONSUMER, "--bootstrap-server", tools.bootstrap, "--topic", topic,
                    "--from-beginning", "--max-messages", "20", "--timeout-ms", "30000",
                    "--formatter-property", "print.key=true", "--formatter-property", "print.partition=true")
    got = out.stdout.splitlines()
    assert len(got) == 20, out.stdout + out.stderr
    # "Partition:N<TAB>key<TAB>value"; one key always lands in the same partition.
    read = {}
    for line in got:
        partition, key, value = line.split("\t")
        read[key] = (partition, value)
    assert {k: v for k, (_, v) in read.items()} == {f"key{i}": f"value {i} ünïcode" for i in range(20)}
    assert "Processed a total of 20 messages" in out.stderr


def test_consumer_groups_describe_and_reset_offsets(tools):
    topic, group = name("groups"), name("cg")
    b = ["--bootstrap-server", tools.bootstrap]
    create_topic(tools, topic, 2)
    tools.run(CONSOLE_PRODUCER, *b, "--topic", topic, stdin="".join(f"m{i}\n" for i in range(10)))
    consumed = tools.run(CONSOLE_CONSUMER, *b, "--topic", topic, "--group", group, "--from-beginning",
                         "--max-messages", "10", "--timeout-ms", "30000")
    assert len(consumed.stdout.splitlines()) == 10
    assert group in tools.run(CONSUMER_GROUPS, *b, "--list").stdout.split()

    rows = table(tools.run(CONSUMER_GROUPS, *b, "--describe", "--group", group).stdout, "GROUP")
    assert {r["PARTITION"] for r in rows} == {"0", "1"}
    assert sum(int(r["LOG-END-OFFSET"]) for r in rows) == 10
    assert all(r["CURRENT-OFFSET"] == r["LOG-END-OFFSET"] and r["LAG"] == "0" for r in rows), rows
    state = table(tools.run(CONSUMER_GROUPS, *b, "--describe", "--group", group, "--state").stdout, "GROUP")
    assert [(s["STATE"], s["#MEMBERS"]) for s in state] == [("Empty", "0")]

    ends = {r["PARTITION"]: int(r["LOG-END-OFFSET"]) for r in rows}
    dry = table(tools.run(CONSUMER_GROUPS, *b, "--reset-offsets", "--group", group, "--topic", topic,
                          "--to-offset", "1", "--dry-run").stdout, "GROUP")
    # An offset past a partition's end is clamped to the end, as Kafka's command does.
    assert {r["PARTITION"]: int(r["NEW-OFFSET"]) for r in dry} == {p: min(1, e) for p, e in ends.items()}
    reset = table(tools.run(CONSUMER_GROUPS, *b, "--reset-offsets", "--group", group, "--topic", topic,
                            "--to-earliest", "--execute").stdout, "GROUP")
    assert {r["NEW-OFFSET"] for r in reset} == {"0"}
    rows = table(tools.run(CONSUMER_GROUPS, *b, "--describe", "--group", group).stdout, "GROUP")
    assert all(r["CURRENT-OFFSET"] == "0" and r["LAG"] == r["LOG-END-OFFSET"] for r in rows), rows
    fuller = max(ends, key=ends.get)  # 10 records in 2 partitions: at least 5 here
    shifted = table(tools.run(CONSUMER_GROUPS, *b, "--reset-offsets", "--group", group, "--topic",
                              f"{topic}:{fuller}", "--shift-by", "2", "--execute").stdout, "GROUP")
    assert [(r["PARTITION"], r["NEW-OFFSET"]) for r in shifted] == [(fuller, "2")]
    # The group reads again from the reset offsets: 10 - 2 records.
    again = tools.run(CONSOLE_CONSUMER, *b, "--topic", topic, "--group", group, "--timeout-ms", "5000",
                      check=False)
    assert len(again.stdout.splitlines()) == 8, again.stdout + again.stderr

    deleted = tools.run(CONSUMER_GROUPS, *b, "--delete", "--group", group).stdout
    assert "Deletion of requested consumer groups" in deleted and "successful" in deleted
    assert group not in tools.run(CONSUMER_GROUPS, *b, "--list").stdout.split()


def test_producer_perf_test_and_kafka_transactions(tools):
    topic, txn = name("perf"), name("perf-tx")
    b = ["--bootstrap-server", tools.bootstrap]
    create_topic(tools, topic, 1)
    perf = tools.run(PRODUCER_PERF, "--topic", topic, "--num-records", "3000", "--record-size", "100",
                     "--throughput", "-1", "--transactional-id", txn, "--transaction-duration-ms", "100",
                     "--command-property", f"bootstrap.servers={tools.bootstrap}", "acks=all")
    assert "3000 records sent" in perf.stdout, perf.stdout + perf.stderr

    listed = [r for r in tab_rows(tools.run(TRANSACTIONS, *b, "list").stdout) if r["TransactionalId"] == txn]
    assert len(listed) == 1 and listed[0]["TransactionState"] == "CompleteCommit", listed
    [described] = tab_rows(tools.run(TRANSACTIONS, *b, "describe", "--transactional-id", txn).stdout)
    assert described["TransactionState"] == "CompleteCommit"
    assert described["ProducerId"] == listed[0]["ProducerId"]
    assert described["TransactionTimeoutMs"] == "60000"
    [producer] = tab_rows(tools.run(TRANSACTIONS, *b, "describe-producers", "--topic", topic,
                                    "--partition", "0").stdout)
    assert producer["ProducerId"] == described["ProducerId"]
    # Transactions v2 (the 4.4 tools' client, transaction.version 2 finalized) bump the epoch at
    # every commit, and the commit marker carries the new epoch: no sequence yet, as Kafka shows.
    assert producer["LastSequence"] == "-1" and producer["CurrentTransactionStartOffset"] == "None"
    hanging = tools.run(TRANSACTIONS, *b, "find-hanging", "--broker-id", "1").stdout
    assert txn not in hanging and len(hanging.strip().splitlines()) == 1, hanging  # the header only
    missing = tools.run(TRANSACTIONS, *b, "describe", "--transactional-id", name("none"), check=False)
    assert missing.returncode != 0 and "the ID could not be found" in missing.stderr, missing.stderr

    committed = tools.run(CONSOLE_CONSUMER, *b, "--topic", topic, "--from-beginning", "--isolation-level",
                          "read_committed", "--max-messages", "3000", "--timeout-ms", "30000",
                          "--formatter", "org.apache.kafka.tools.consumer.NoOpMessageFormatter")
    assert "Processed a total of 3000 messages" in committed.stderr, committed.stderr


def test_kafka_transactions_on_an_ongoing_transaction(tools):
    """A transaction left open (kafka-producer-perf-test with 10-minute transactions) as
    kafka-transactions shows it: not hanging, its coordinator will end it."""
    topic, txn = name("open"), name("open-tx")
    b = ["--bootstrap-server", tools.bootstrap]
    create_topic(tools, topic, 1)
    perf = tools.popen(PRODUCER_PERF, "--topic", topic, "--num-records", "100000000", "--record-size", "100",
                       "--throughput", "100", "--transactional-id", txn, "--transaction-duration-ms", "600000",
                       "--command-property", f"bootstrap.servers={tools.bootstrap}")
    try:
        perf.stdout.readline()  # its first 5-second report: the transaction is open by then
        [listed] = [r for r in tab_rows(tools.run(TRANSACTIONS, *b, "list").stdout) if r["TransactionalId"] == txn]
        assert listed["TransactionState"] == "Ongoing"
        [described] = tab_rows(tools.run(TRANSACTIONS, *b, "describe", "--transactional-id", txn).stdout)
        assert described["TransactionState"] == "Ongoing" and described["TopicPartitions"] == f"{topic}-0"
        assert int(described["TransactionDurationMs"]) > 0
        [producer] = tab_rows(tools.run(TRANSACTIONS, *b, "describe-producers", "--topic", topic,
                                        "--partition", "0").stdout)
        assert producer["ProducerId"] == described["ProducerId"]
        assert producer["CurrentTransactionStartOffset"] == "0"
        hanging = tools.run(TRANSACTIONS, *b, "find-hanging", "--topic", topic, "--max-transaction-timeout",
                            "0").stdout
        assert len(hanging.strip().splitlines()) == 1, hanging  # the header only
    finally:
        stop(perf)


def stop(proc) -> None:
    proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def test_kafka_transactions_finds_and_aborts_a_hanging_transaction(tmp_path, tools):
    """A hanging transaction: its producer died mid-transaction and its coordinator lost it (Wren
    restarted without its transaction log), so nothing would ever end it and read_committed
    consumers stop at it. `find-hanging` lists it, `abort` (WriteTxnMarkers to the leader)
    closes it, and a read_committed consumer reads on, without its records."""
    if os.environ.get("JAVA_TESTS_BOOTSTRAP"):
        pytest.skip("restarts a Wren of its own")
    topic, txn = name("hang"), name("hang-tx")
    broker = Wren(tmp_path)
    t = Tools(tools.work, broker.bootstrap)
    try:
        create_topic(t, topic, 1)
        perf = t.popen(PRODUCER_PERF, "--topic", topic, "--num-records", "100000000", "--record-size", "100",
                       "--throughput", "100", "--transactional-id", txn, "--transaction-duration-ms", "600000",
                       "--command-property", f"bootstrap.servers={broker.bootstrap}")
        try:
            perf.stdout.readline()  # its first 5-second report: the transaction is open by then
        finally:
            stop(perf)
    finally:
        assert broker.stop() == 0
    (tmp_path / "data" / "__wren_meta" / "transactions.log").unlink()
    broker = Wren(tmp_path)
    t = Tools(tools.work, broker.bootstrap)
    b = ["--bootstrap-server", broker.bootstrap]
    try:
        assert txn not in t.run(TRANSACTIONS, *b, "list").stdout
        t.run(CONSOLE_PRODUCER, *b, "--topic", topic, stdin="after-1\nafter-2\n")
        [hanging] = tab_rows(t.run(TRANSACTIONS, *b, "find-hanging", "--broker-id", "1",
                                   "--max-transaction-timeout", "0").stdout)
        assert (hanging["Topic"], hanging["Partition"], hanging["StartOffset"]) == (topic, "0", "0"), hanging
        aborted = t.run(TRANSACTIONS, *b, "abort", "--topic", topic, "--partition", "0", "--start-offset", "0")
        assert aborted.returncode == 0, aborted.stderr
        hanging = t.run(TRANSACTIONS, *b, "find-hanging", "--broker-id", "1", "--max-transaction-timeout", "0")
        assert len(hanging.stdout.strip().splitlines()) == 1, hanging.stdout  # the header only
        committed = t.run(CONSOLE_CONSUMER, *b, "--topic", topic, "--from-beginning", "--isolation-level",
                          "read_committed", "--max-messages", "2", "--timeout-ms", "30000")
        assert committed.stdout.split() == ["after-1", "after-2"], committed.stdout + committed.stderr
    finally:
        assert broker.stop() == 0


INPUT_RECORDS = 6000
KILLS_PER_COPIER = 2
KILL_AFTER = 600  # records a copier run copies before it is killed


def run_copier(tools: Tools, partition: int, input_topic: str, output_topic: str, group: str,
               report: dict) -> None:
    """transactions_test.py's copier for one input partition: SIGKILLed KILLS_PER_COPIER times
    mid-stream (each restart resumes from the offsets its transactions committed), then left to
    copy to the end."""
    args = ["--broker-list", tools.bootstrap, "--input-topic", input_topic, "--input-partition", str(partition),
            "--output-topic", output_topic, "--transactional-id", f"{group}-copier-{partition}",
            "--consumer-group", group, "--transaction-size", "50", "--enable-random-aborts",
            "--use-group-metadata",
            # The copier (assign mode) asks for its position before initTransactions, so a restart
            # waits until the killed run's open transaction, whose staged offsets make OffsetFetch
            # answer UNSTABLE_OFFSET_COMMIT, times out; at the default 60 s that races the
            # consumer's own 60 s API timeout, on Kafka as on Wren.
            "--transaction-timeout", "10000"]
    kills, runs = 0, []
    while True:
        proc = tools.popen(COPIER, *args)
        killed, last = False, {}
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            last = json_lines(line)[0]
            if (kills < KILLS_PER_COPIER and last.get("stage") == "ProcessLoop"
                    and last["totalProcessed"] >= KILL_AFTER and last["remaining"] > 0):
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        proc.wait(timeout=60)
        runs.append({"killed": killed, "last": last, "code": proc.returncode, "stderr": proc.stderr.read()[-2000:]})
        proc.stdout.close()
        proc.stderr.close()
        if not killed:
            break
        kills += 1
    report[partition] = runs


def test_transactional_copier_exactly_once_across_sigkills(tools):
    """Kafka's transactions_test.py on one broker: VerifiableProducer fills the input topic, one
    TransactionalMessageCopier per input partition copies it transactionally (random aborts on),
    each copier is killed with SIGKILL and restarted twice, then a read_committed
    VerifiableConsumer must see every input record exactly once in the output topic."""
    input_topic, output_topic, group = name("eos-in"), name("eos-out"), name("eos")
    b = ["--bootstrap-server", tools.bootstrap]
    create_topic(tools, input_topic, 2)
    create_topic(tools, output_topic, 3)
    seeded = tools.run(VERIFIABLE_PRODUCER, *b, "--topic", input_topic, "--max-messages", str(INPUT_RECORDS),
                       "--repeating-keys", "10", "--throughput", "-1", timeout=120)
    events = json_lines(seeded.stdout)
    acked = [e for e in events if e["name"] == "producer_send_success"]
    assert len(acked) == INPUT_RECORDS, events[-1]
    per_partition = collections.Counter(e["partition"] for e in acked)
    assert min(per_partition[p] for p in (0, 1)) > KILL_AFTER * (KILLS_PER_COPIER + 1), per_partition

    report: dict = {}
    copiers = [threading.Thread(target=run_copier, args=(tools, p, input_topic, output_topic, group, report))
               for p in (0, 1)]
    for c in copiers:
        c.start()
    for c in copiers:
        c.join(timeout=300)
    for partition in (0, 1):
        runs = report[partition]
        assert sum(r["killed"] for r in runs) == KILLS_PER_COPIER, runs
        final = runs[-1]
        assert final["code"] == 0 and final["last"].get("stage") == "ShutdownComplete", final
        assert final["last"]["remaining"] == 0, final

    config = tools.properties("read-committed.properties", isolation_level="read_committed")
    read = tools.run(VERIFIABLE_CONSUMER, *b, "--topic", output_topic, "--group-id", name("verify"),
                     "--max-messages", str(INPUT_RECORDS), "--verbose", "--reset-policy", "earliest",
                     "--consumer.config", config, timeout=120)
    values = collections.Counter(e["value"] for e in json_lines(read.stdout) if e["name"] == "record_data")
    expected = collections.Counter(e["value"] for e in acked)
    assert values == expected, (f"{sum(values.values())} records read, {len(values)} distinct; "
                                f"missing {len(expected - values)}, duplicated {len(values - expected)}")
    # Nothing past those: the committed output holds exactly INPUT_RECORDS records.
    total = tools.run(CONSOLE_CONSUMER, *b, "--topic", output_topic, "--from-beginning", "--isolation-level",
                      "read_committed", "--timeout-ms", "5000",
                      "--formatter", "org.apache.kafka.tools.consumer.NoOpMessageFormatter", check=False)
    assert f"Processed a total of {INPUT_RECORDS} messages" in total.stderr, total.stderr
