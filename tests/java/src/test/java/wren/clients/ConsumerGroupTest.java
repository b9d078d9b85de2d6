package wren.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class ConsumerGroupTest {
    static KafkaConsumer<String, String> consumer(String group, String... pairs) {
        var props = Wren.props("group.id", group, "enable.auto.commit", "false",
                "auto.offset.reset", "earliest");
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            props.put(pairs[i], pairs[i + 1]);
        }
        return new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }

    static KafkaConsumer<String, String> classic(String group) {
        return consumer(group, "group.protocol", "classic", "session.timeout.ms", "10000");
    }

    static void produce(String topic, int partitions, int from, int to) throws Exception {
        try (KafkaProducer<String, String> producer = ProducerTest.producer()) {
            for (int i = from; i < to; i++) {
                producer.send(new ProducerRecord<>(topic, i % partitions, null, "v" + i));
            }
            producer.flush();
        }
    }

    /** The consumer owns partitions and has read each of them to `end`. */
    static boolean caughtUp(KafkaConsumer<String, String> consumer, long end) {
        Set<TopicPartition> owned = consumer.assignment();
        return !owned.isEmpty() && owned.stream().allMatch(tp -> consumer.position(tp) == end);
    }

    @Test
    void twoClassicMembersSharePartitionsCommitAndAThirdResumes() throws Exception {
        int partitions = 4;
        String topic = Topics.create(partitions);
        String group = Wren.unique("g");
        produce(topic, partitions, 0, 200);
        List<ConsumerRecord<String, String>> read = new ArrayList<>();
        try (KafkaConsumer<String, String> a = classic(group);
                KafkaConsumer<String, String> b = classic(group)) {
            a.subscribe(List.of(topic));
            b.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 60_000;
            // One thread polls both in turn: a classic poll returns at its timeout while the
            // member waits for the rebalance, so both keep their place in the group.
            while (!caughtUp(a, 50) || !caughtUp(b, 50)
                    || a.assignment().size() + b.assignment().size() != partitions) {
                assertTrue(System.currentTimeMillis() < deadline, "read " + read.size()
                        + ", assignments " + a.assignment() + " / " + b.assignment());
                a.poll(Duration.ofMillis(100)).forEach(read::add);
                b.poll(Duration.ofMillis(100)).forEach(read::add);
            }
            Set<TopicPartition> both = new HashSet<>(a.assignment());
            both.addAll(b.assignment());
            assertEquals(partitions, both.size(), "every partition assigned");
            assertEquals(partitions, a.assignment().size() + b.assignment().size(), "no partition twice");
            a.commitSync();
            b.commitSync();
        }
        // Records read before the rebalance completed may be read again by the new owner:
        // classic groups promise at-least-once, so count distinct values.
        assertEquals(200, Topics.values(read).size());
        produce(topic, partitions, 200, 260);
        List<ConsumerRecord<String, String>> resumed = new ArrayList<>();
        try (KafkaConsumer<String, String> c = classic(group)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 30_000;
            while (resumed.size() < 60 && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(resumed::add);
            }
            c.poll(Duration.ofMillis(500)).forEach(resumed::add); // nothing more may come
        }
        Set<String> expected = new HashSet<>();
        for (int i = 200; i < 260; i++) {
            expected.add("v" + i);
        }
        assertEquals(60, resumed.size(), "the third member reads only what came after the commit");
        assertEquals(expected, Topics.values(resumed));
    }

    /**
     * KIP-848 (`group.protocol=consumer`) needs ConsumerGroupHeartbeat, which Wren does not
     * serve (FINDINGS.md). The client then fails poll() with UnsupportedVersionException, as it
     * does against a Kafka broker without the API; 4.x tells the user to set group.protocol=classic.
     */
    @Test
    void theConsumerGroupProtocolFailsClearlyWithoutConsumerGroupHeartbeat() throws Exception {
        String topic = Topics.create(1);
        try (KafkaConsumer<String, String> consumer = consumer(Wren.unique("g"), "group.protocol", "consumer")) {
            consumer.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 30_000;
            UnsupportedVersionException error = null;
            while (error == null && System.currentTimeMillis() < deadline) {
                try {
                    consumer.poll(Duration.ofMillis(200));
                } catch (UnsupportedVersionException e) {
                    error = e;
                }
            }
            assertTrue(error != null, "poll() never failed");
            // 4.x tells the user what to do; 3.9 (KIP-848 in preview) names the missing API.
            String expected = Wren.clientVersion().startsWith("3.") ? "CONSUMER_GROUP_HEARTBEAT"
                    : "Set group.protocol=classic";
            assertTrue(error.getMessage().contains(expected), error.getMessage());
        }
    }
}
