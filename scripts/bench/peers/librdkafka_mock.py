#!/usr/bin/env python3
"""Start librdkafka's built-in mock Kafka cluster (via confluent-kafka) and keep it alive.

Usage:  python librdkafka_mock.py [--brokers N] [--rtt-ms MS] [--seconds S]
Prints one line "BOOTSTRAP=127.0.0.1:PORT[,...]" on stdout (flushed), then sleeps
until SIGTERM/SIGINT or --seconds elapse.  Other processes (kcat, kafka-python,
aiokafka, kafkajs, rdkafka, ...) can connect to that address while this runs.

The mock always binds 127.0.0.1 on random ports (librdkafka has no option to pick
the port).  Topics are auto-created (4 partitions by default) on Metadata/Produce.
Known gaps (librdkafka mock, checked against src/rdkafka_mock_handlers.c):
  * Fetch returns LastStableOffset = high watermark and an empty AbortedTransactions
    list, so read_committed consumers DO see aborted records and are never blocked
    by open transactions  -> NOT a reference for read_committed semantics.
  * No CreateTopics/DeleteTopics/ListGroups/DescribeGroups/DescribeConfigs/SASL APIs.
"""
import argparse, signal, sys, time

from confluent_kafka import Producer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", type=int, default=1)
    ap.add_argument("--rtt-ms", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=0, help="0 = until killed")
    a = ap.parse_args()

    conf = {"test.mock.num.brokers": a.brokers, "log_level": 3}
    if a.rtt_ms:
        conf["test.mock.broker.rtt"] = a.rtt_ms
    # The handle owns the mock cluster: it lives exactly as long as `owner`.
    owner = Producer(conf)
    md = owner.list_topics(timeout=10)
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in sorted(md.brokers.values(), key=lambda b: b.id))
    print(f"BOOTSTRAP={bootstrap}", flush=True)
    print(f"cluster_id={md.cluster_id} controller={md.controller_id}", file=sys.stderr, flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    t0 = time.time()
    while not stop and (a.seconds <= 0 or time.time() - t0 < a.seconds):
        owner.poll(0.5)
    owner.flush(1)


if __name__ == "__main__":
    main()
