package oracle;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;

/** Produce, Fetch and ListOffsets: the basics and their error paths, plain producers only. */
final class Records {
    /** Fixed record timestamps so both brokers store, index and return the same values. */
    static final long T0 = 1_764_000_000_000L;

    static void run(Session s) throws IOException {
        produce(s, "produce", Scenario.A, 0, plain(0, 3));
        produce(s, "produce-second-batch", Scenario.A, 0, plain(3, 2));
        produce(s, "produce-unknown-topic", "oracle-nope", 0, plain(0, 1));
        produce(s, "produce-unknown-partition", Scenario.A, 7, plain(0, 1));
        produce(s, "produce-compacted-without-key", Scenario.B, 0,
                MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(T0, null, bytes("v"))));
        produce(s, "produce-compacted-with-key", Scenario.B, 0,
                MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(T0, bytes("k"), bytes("v"))));
        produce(s, "produce-gzip", Scenario.A, 1, MemoryRecords.withRecords(Compression.gzip().build(),
                new SimpleRecord(T0, bytes("gk"), bytes("gv"))));

        Uuid a = s.topicId(Scenario.A);
        fetch(s, "fetch", a, 0, 0, 0);
        fetch(s, "fetch-from-middle-of-batch", a, 0, 1, 0);
        fetch(s, "fetch-gzip", a, 1, 0, 0);
        fetch(s, "fetch-at-end", a, 0, 5, 0);
        fetch(s, "fetch-out-of-range", a, 0, 100, 0);
        fetch(s, "fetch-out-of-range-read-committed", a, 0, 100, 1);
        fetch(s, "fetch-unknown-partition", a, 9, 0, 0);
        fetch(s, "fetch-unknown-topic-id", Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ"), 0, 0, 0);

        for (short v = s.min(ApiKeys.LIST_OFFSETS); v <= s.max(ApiKeys.LIST_OFFSETS); v++) {
            listOffsets(s, "list-offsets", v, Scenario.A, 0, -2L, -1L, T0 + 1, T0 + 100);
            if (v >= 7) {
                listOffsets(s, "list-offsets-max-timestamp", v, Scenario.A, 0, -3L);
            }
            if (v >= 8) {
                listOffsets(s, "list-offsets-earliest-local", v, Scenario.A, 0, -4L);
            }
        }
        listOffsets(s, "list-offsets-unknown-topic", s.max(ApiKeys.LIST_OFFSETS), "oracle-nope", 0, -1L);
        listOffsets(s, "list-offsets-unknown-partition", s.max(ApiKeys.LIST_OFFSETS), Scenario.A, 9, -1L);
        deleteRecords(s, "delete-records", Scenario.A, 0, 1);
        fetch(s, "fetch-below-log-start", a, 0, 0, 0);
        listOffsets(s, "list-offsets-after-delete-records", s.max(ApiKeys.LIST_OFFSETS), Scenario.A, 0, -2L);
    }

    static void deleteRecords(Session s, String step, String topic, int partition, long before)
            throws IOException {
        DeleteRecordsRequestData request = new DeleteRecordsRequestData().setTimeoutMs(30_000);
        DeleteRecordsRequestData.DeleteRecordsTopic t = new DeleteRecordsRequestData.DeleteRecordsTopic()
                .setName(topic);
        t.partitions().add(new DeleteRecordsRequestData.DeleteRecordsPartition().setPartitionIndex(partition)
                .setOffset(before));
        request.topics().add(t);
        s.call(step, ApiKeys.DELETE_RECORDS, request);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** `count` records numbered from `first`, with keys, values, a header and fixed timestamps. */
    static SimpleRecord[] records(int first, int count) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            int n = first + i;
            records[i] = new SimpleRecord(T0 + n, bytes("key-" + n), bytes("value-" + n),
                    new Header[] {new RecordHeader("h", bytes("header-" + n))});
        }
        return records;
    }

    static MemoryRecords plain(int first, int count) {
        return MemoryRecords.withRecords(Compression.NONE, records(first, count));
    }

    static void produce(Session s, String step, String topic, int partition, MemoryRecords records)
            throws IOException {
        produce(s, step, null, topic, partition, records);
    }

    static void produce(Session s, String step, String transactionalId, String topic, int partition,
                        MemoryRecords records) throws IOException {
        ProduceRequestData request = new ProduceRequestData().setAcks((short) -1).setTimeoutMs(30_000)
                .setTransactionalId(transactionalId);
        ProduceRequestData.TopicProduceData data = new ProduceRequestData.TopicProduceData();
        if (s.max(ApiKeys.PRODUCE) >= 13) {
            data.setTopicId(s.topicId(topic));
        } else {
            data.setName(topic);
        }
        data.partitionData().add(new ProduceRequestData.PartitionProduceData().setIndex(partition)
                .setRecords(records));
        request.topicData().add(data);
        s.call(step, ApiKeys.PRODUCE, request);
    }

    static void fetch(Session s, String step, Uuid topicId, int partition, long offset, int isolation)
            throws IOException {
        short v = s.max(ApiKeys.FETCH);
        if (v < 13) {
            throw new IllegalStateException("the scenario fetches by topic id (v13+), common max is " + v);
        }
        FetchRequestData request = new FetchRequestData().setMaxWaitMs(0).setMinBytes(1)
                .setMaxBytes(1 << 20).setIsolationLevel((byte) isolation).setSessionId(0).setSessionEpoch(-1);
        FetchRequestData.FetchTopic topic = new FetchRequestData.FetchTopic().setTopicId(topicId);
        topic.partitions().add(new FetchRequestData.FetchPartition().setPartition(partition)
                .setFetchOffset(offset).setPartitionMaxBytes(1 << 20));
        request.topics().add(topic);
        s.call(step, ApiKeys.FETCH, request);
    }

    static void listOffsets(Session s, String step, short v, String topic, int partition, long... timestamps)
            throws IOException {
        for (long timestamp : timestamps) {
            ListOffsetsRequestData request = new ListOffsetsRequestData().setReplicaId(-1);
            ListOffsetsRequestData.ListOffsetsTopic t = new ListOffsetsRequestData.ListOffsetsTopic().setName(topic);
            t.partitions().add(new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(partition)
                    .setTimestamp(timestamp));
            request.topics().add(t);
            s.callAt(step + "@" + timestamp, ApiKeys.LIST_OFFSETS, v, request);
        }
    }

    private Records() {}
}
