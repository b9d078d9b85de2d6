package oracle;

import java.io.IOException;
import java.util.List;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData.AddPartitionsToTxnTopic;
import org.apache.kafka.common.message.EndTxnRequestData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.record.internal.MemoryRecords;

/** Idempotent and transactional producers: sequence and epoch rules, fencing, commit/abort. */
final class Producers {
    static final String TXN_ID = "oracle-txn-id";

    static void run(Session s) throws IOException {
        idempotent(s);
        transactional(s);
    }

    static InitProducerIdResponseData initProducerId(Session s, String step, String transactionalId,
                                                     long producerId, short epoch) throws IOException {
        InitProducerIdRequestData request = new InitProducerIdRequestData().setTransactionalId(transactionalId)
                .setTransactionTimeoutMs(transactionalId == null ? -1 : 60_000);
        if (s.max(ApiKeys.INIT_PRODUCER_ID) >= 3) {
            request.setProducerId(producerId).setProducerEpoch(epoch);
        }
        return s.call(step, ApiKeys.INIT_PRODUCER_ID, request);
    }

    static MemoryRecords idempotent(long pid, short epoch, int sequence, int first, int count) {
        return MemoryRecords.withIdempotentRecords(Compression.NONE, pid, epoch, sequence,
                Records.records(first, count));
    }

    static void idempotent(Session s) throws IOException {
        InitProducerIdResponseData init = initProducerId(s, "init-producer-id-idempotent", null, -1, (short) -1);
        long pid = init.producerId();
        short epoch = init.producerEpoch();
        String t = Scenario.A;
        Records.produce(s, "idempotent-produce-seq-0", t, 2, idempotent(pid, epoch, 0, 0, 2));
        Records.produce(s, "idempotent-produce-seq-2", t, 2, idempotent(pid, epoch, 2, 2, 2));
        Records.produce(s, "idempotent-duplicate-seq-2", t, 2, idempotent(pid, epoch, 2, 2, 2));
        Records.produce(s, "idempotent-duplicate-seq-0", t, 2, idempotent(pid, epoch, 0, 0, 2));
        Records.produce(s, "idempotent-out-of-order-seq-9", t, 2, idempotent(pid, epoch, 9, 9, 1));
        Records.produce(s, "idempotent-first-write-nonzero-seq", t, 1, idempotent(pid, epoch, 5, 5, 1));
        Records.produce(s, "idempotent-unknown-producer-id", t, 2, idempotent(pid + 100_000, epoch, 0, 0, 1));
        Records.produce(s, "idempotent-future-epoch", t, 2, idempotent(pid, (short) (epoch + 5), 4, 4, 1));
        // KIP-360: an idempotent producer bumps its own epoch; the old epoch is then stale.
        InitProducerIdResponseData bumped = initProducerId(s, "init-producer-id-bump", null, pid, epoch);
        Records.produce(s, "idempotent-new-epoch-seq-0", t, 2,
                idempotent(bumped.producerId(), bumped.producerEpoch(), 0, 10, 1));
        Records.produce(s, "idempotent-stale-epoch", t, 2, idempotent(pid, epoch, 4, 4, 1));
        Records.fetch(s, "fetch-idempotent", s.topicId(t), 2, 0, 0);
    }

    /** FindCoordinator for one key: a group (0) or a transactional id (1). */
    static void findCoordinator(Session s, String step, byte keyType, String key) throws IOException {
        FindCoordinatorRequestData request = new FindCoordinatorRequestData().setKeyType(keyType);
        if (s.max(ApiKeys.FIND_COORDINATOR) >= 4) {
            request.setCoordinatorKeys(List.of(key));
        } else {
            request.setKey(key);
        }
        s.call(step, ApiKeys.FIND_COORDINATOR, request);
    }

    static void findTxnCoordinator(Session s) throws IOException {
        findCoordinator(s, "find-coordinator-transaction", (byte) 1, TXN_ID);
    }

    static void addPartitions(Session s, String step, long pid, short epoch, int... partitions)
            throws IOException {
        short v = s.max(ApiKeys.ADD_PARTITIONS_TO_TXN);
        if (v > 3) {
            v = 3; // v4+ is the broker-to-broker batched form; clients send v3 and below
        }
        AddPartitionsToTxnRequestData request = new AddPartitionsToTxnRequestData()
                .setV3AndBelowTransactionalId(TXN_ID).setV3AndBelowProducerId(pid).setV3AndBelowProducerEpoch(epoch);
        AddPartitionsToTxnTopic topic = new AddPartitionsToTxnTopic().setName(Scenario.TXN);
        for (int p : partitions) {
            topic.partitions().add(p);
        }
        request.v3AndBelowTopics().add(topic);
        s.callAt(step, ApiKeys.ADD_PARTITIONS_TO_TXN, v, request);
    }

    static void endTxn(Session s, String step, long pid, short epoch, boolean commit) throws IOException {
        s.call(step, ApiKeys.END_TXN, new EndTxnRequestData().setTransactionalId(TXN_ID).setProducerId(pid)
                .setProducerEpoch(epoch).setCommitted(commit));
    }

    static MemoryRecords txnRecords(long pid, short epoch, int sequence, int first, int count) {
        return MemoryRecords.withTransactionalRecords(Compression.NONE, pid, epoch, sequence,
                Records.records(first, count));
    }

    static void transactional(Session s) throws IOException {
        findTxnCoordinator(s);
        InitProducerIdResponseData init = initProducerId(s, "init-producer-id-transactional", TXN_ID, -1, (short) -1);
        long pid = init.producerId();
        short epoch = init.producerEpoch();
        String t = Scenario.TXN;
        Records.produce(s, "txn-produce-before-add-partitions", TXN_ID, t, 0, txnRecords(pid, epoch, 0, 0, 1));
        addPartitions(s, "add-partitions-to-txn", pid, epoch, 0, 1);
        addPartitions(s, "add-partitions-to-txn-unknown-partition", pid, epoch, 5);
        addPartitions(s, "add-partitions-to-txn-again", pid, epoch, 0);
        Records.produce(s, "txn-produce", TXN_ID, t, 0, txnRecords(pid, epoch, 0, 0, 2));
        listOffsetsCommitted(s, "list-offsets-read-committed-open-txn");
        Records.fetch(s, "fetch-read-committed-open-txn", s.topicId(t), 0, 0, 1);
        endTxn(s, "end-txn-commit", pid, epoch, true);
        waitForLso(s, t);
        Records.fetch(s, "fetch-read-committed-after-commit", s.topicId(t), 0, 0, 1);
        endTxn(s, "end-txn-commit-no-transaction", pid, epoch, true);

        InitProducerIdResponseData again = initProducerId(s, "init-producer-id-fences", TXN_ID, -1, (short) -1);
        addPartitions(s, "add-partitions-to-txn-fenced-epoch", pid, epoch, 1);
        Records.produce(s, "txn-produce-fenced-epoch", TXN_ID, t, 1, txnRecords(pid, epoch, 0, 0, 1));
        endTxn(s, "end-txn-fenced-epoch", pid, epoch, false);

        short current = again.producerEpoch();
        addPartitions(s, "add-partitions-to-txn-new-epoch", again.producerId(), current, 1);
        Records.produce(s, "txn-produce-new-epoch", TXN_ID, t, 1, txnRecords(again.producerId(), current, 0, 10, 2));
        endTxn(s, "end-txn-abort", again.producerId(), current, false);
        waitForLso(s, t);
        Records.fetch(s, "fetch-read-committed-after-abort", s.topicId(t), 1, 0, 1);
        Records.fetch(s, "fetch-read-uncommitted-after-abort", s.topicId(t), 1, 0, 0);
        endTxn(s, "end-txn-unknown-producer-id", again.producerId() + 100_000, current, true);
    }

    static void listOffsetsCommitted(Session s, String step) throws IOException {
        s.call(step, ApiKeys.LIST_OFFSETS, latestRequest(1));
    }

    /** ListOffsets latest (-1) of the transactional topic's two partitions at `isolation`. */
    private static ListOffsetsRequestData latestRequest(int isolation) {
        ListOffsetsRequestData request = new ListOffsetsRequestData().setReplicaId(-1)
                .setIsolationLevel((byte) isolation);
        ListOffsetsRequestData.ListOffsetsTopic topic = new ListOffsetsRequestData.ListOffsetsTopic()
                .setName(Scenario.TXN);
        for (int p = 0; p < 2; p++) {
            topic.partitions().add(new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(p)
                    .setTimestamp(-1));
        }
        request.topics().add(topic);
        return request;
    }

    /** Markers are written after EndTxn returns (in Kafka): wait until the LSO reaches the HW. */
    static void waitForLso(Session s, String topic) throws IOException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            if (latest(s, 1).equals(latest(s, 0))) {
                listOffsetsCommitted(s, "list-offsets-read-committed-closed-txn");
                return;
            }
            Scenario.sleep(50);
        }
        listOffsetsCommitted(s, "list-offsets-read-committed-timed-out");
    }

    /** The latest offsets of the transactional topic's partitions at `isolation`. */
    private static List<Long> latest(Session s, int isolation) throws IOException {
        ListOffsetsRequestData request = latestRequest(isolation);
        ListOffsetsResponseData response = (ListOffsetsResponseData) s.wire.send(ApiKeys.LIST_OFFSETS,
                s.max(ApiKeys.LIST_OFFSETS), request);
        return response.topics().stream().flatMap(t -> t.partitions().stream())
                .map(ListOffsetsResponseData.ListOffsetsPartitionResponse::offset).toList();
    }

    private Producers() {}
}
