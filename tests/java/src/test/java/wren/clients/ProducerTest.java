package wren.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class ProducerTest {
    static KafkaProducer<String, String> producer(String... pairs) {
        return new KafkaProducer<>(Wren.props(pairs), new StringSerializer(), new StringSerializer());
    }

    @Test
    void theClientUnderTestIsTheVersionThePomNames() {
        assertEquals(System.getProperty("expected.clients.version"), Wren.clientVersion());
    }

    @Test
    void idempotentProducerWritesEveryRecordOnceInSendOrder() throws Exception {
        String topic = Topics.create(3);
        int count = 3000;
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = producer("enable.idempotence", "true", "acks", "all",
                "max.in.flight.requests.per.connection", "5", "linger.ms", "2", "batch.size", "4096")) {
            for (int i = 0; i < count; i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, "k" + (i % 7), Integer.toString(i))));
            }
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                f.get();
            }
        }
        List<ConsumerRecord<String, String>> records =
                Topics.readAll(topic, 3, "read_uncommitted", r -> r.size() >= count);
        assertEquals(count, records.size(), "records read");
        assertEquals(count, Topics.values(records).size(), "distinct values (no duplicates)");
        for (Map.Entry<Integer, List<String>> e : Topics.byPartition(records).entrySet()) {
            List<String> values = e.getValue();
            for (int i = 1; i < values.size(); i++) {
                assertTrue(Integer.parseInt(values.get(i - 1)) < Integer.parseInt(values.get(i)),
                        "partition " + e.getKey() + " out of send order at " + i);
            }
        }
        // The offsets the producer was given are the offsets the records have.
        for (int i = 0; i < count; i += 500) {
            RecordMetadata md = sent.get(i).get();
            String value = Integer.toString(i);
            assertTrue(records.stream().anyMatch(r -> r.partition() == md.partition()
                    && r.offset() == md.offset() && r.value().equals(value)), "record " + i);
        }
    }

    @Test
    void committedTransactionsAreVisibleAndAbortedNeverToReadCommitted() throws Exception {
        String topic = Topics.create(2);
        String clientId = Wren.unique("txp");
        try (KafkaProducer<String, String> producer = producer("transactional.id", Wren.unique("tx"),
                "client.id", clientId)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 50; i++) {
                producer.send(new ProducerRecord<>(topic, i % 2, null, "committed-" + i));
            }
            producer.commitTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 50; i++) {
                producer.send(new ProducerRecord<>(topic, i % 2, null, "aborted-" + i));
            }
            producer.flush(); // the aborted records are in the log, not only in the client
            producer.abortTransaction();
            producer.beginTransaction();
            // A committed sentinel after the abort on both partitions: reading up to it proves
            // read_committed was shown everything before it.
            producer.send(new ProducerRecord<>(topic, 0, null, "sentinel-0"));
            producer.send(new ProducerRecord<>(topic, 1, null, "sentinel-1"));
            producer.commitTransaction();
        }
        List<ConsumerRecord<String, String>> committed = Topics.readAll(topic, 2, "read_committed",
                r -> Topics.values(r).containsAll(Set.of("sentinel-0", "sentinel-1")));
        List<String> values = committed.stream().map(ConsumerRecord::value).toList();
        assertEquals(52, values.size(), "read_committed: 50 committed + 2 sentinels, got " + values);
        assertTrue(values.stream().noneMatch(v -> v.startsWith("aborted")), "aborted records visible");
        List<ConsumerRecord<String, String>> all = Topics.readAll(topic, 2, "read_uncommitted",
                r -> Topics.values(r).containsAll(Set.of("sentinel-0", "sentinel-1")));
        assertEquals(50, all.stream().filter(r -> r.value().startsWith("aborted")).count(),
                "read_uncommitted sees the aborted records");
        assertTransactionProtocol(clientId, "AddPartitionsToTxn");
    }

    /**
     * The transaction protocol the client used, from Wren's request log (issue 16): Wren
     * finalizes transaction.version 2, so kafka-clients 4.x runs transactions v2 (EndTxn v5,
     * produce v12 and TxnOffsetCommit v5 add implicitly, no `classicAdd` requests), while 3.9
     * keeps the classic protocol.
     */
    static void assertTransactionProtocol(String clientId, String classicAdd) throws Exception {
        List<Integer> endTxn = Wren.requestVersions("EndTxn", clientId);
        if (endTxn == null) {
            return; // another broker: no request log to read
        }
        List<Integer> adds = Wren.requestVersions(classicAdd, clientId);
        assertTrue(!endTxn.isEmpty(), "EndTxn sent");
        if (Wren.clientVersion().startsWith("3.")) {
            assertTrue(endTxn.stream().allMatch(v -> v < 5), "classic EndTxn, got v" + endTxn);
            assertTrue(!adds.isEmpty(), "3.9 sends " + classicAdd);
        } else {
            assertTrue(endTxn.stream().allMatch(v -> v >= 5), "TV2 EndTxn v5, got v" + endTxn);
            assertEquals(List.of(), adds, "TV2 sends no " + classicAdd);
            List<Integer> produce = Wren.requestVersions("Produce", clientId);
            assertTrue(!produce.isEmpty() && produce.stream().allMatch(v -> v >= 12),
                    "produce v12, got v" + produce);
        }
    }

    @Test
    void aNewProducerWithTheSameTransactionalIdFencesTheOld() throws Exception {
        String topic = Topics.create(1);
        String id = Wren.unique("tx");
        try (KafkaProducer<String, String> zombie = producer("transactional.id", id);
                KafkaProducer<String, String> successor = producer("transactional.id", id)) {
            zombie.initTransactions();
            zombie.beginTransaction();
            zombie.send(new ProducerRecord<>(topic, "zombie")).get();
            successor.initTransactions(); // bumps the epoch, aborts the zombie's transaction
            KafkaException error = assertThrows(KafkaException.class, zombie::commitTransaction);
            assertTrue(causedBy(error, ProducerFencedException.class), "fenced, got " + error);
            successor.beginTransaction();
            successor.send(new ProducerRecord<>(topic, "successor"));
            successor.commitTransaction();
        }
        List<ConsumerRecord<String, String>> read = Topics.readAll(topic, 1, "read_committed",
                r -> Topics.values(r).contains("successor"));
        assertEquals(List.of("successor"), read.stream().map(ConsumerRecord::value).toList());
    }

    static boolean causedBy(Throwable error, Class<? extends Throwable> type) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void offsetsSentToATransactionAreCommittedWithIt() throws Exception {
        String topic = Topics.create(1);
        String group = Wren.unique("g");
        TopicPartition tp = new TopicPartition(topic, 0);
        String clientId = Wren.unique("txo");
        try (KafkaProducer<String, String> producer = producer("transactional.id", Wren.unique("tx"),
                "client.id", clientId)) {
            producer.initTransactions();
            ConsumerGroupMetadata meta = new ConsumerGroupMetadata(group);
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "a"));
            producer.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(7)), meta);
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "b"));
            producer.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(42)), meta);
            producer.commitTransaction();
        }
        try (Admin admin = Admin.create(Wren.props())) {
            long deadline = System.currentTimeMillis() + 10_000;
            Map<TopicPartition, OffsetAndMetadata> offsets;
            do {
                offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                if (!offsets.isEmpty()) {
                    break;
                }
                Thread.sleep(Duration.ofMillis(100).toMillis());
            } while (System.currentTimeMillis() < deadline);
            assertEquals(42, offsets.get(tp).offset(), "the committed transaction's offset, not the aborted one's");
        }
        assertTransactionProtocol(clientId, "AddOffsetsToTxn");
    }
}
