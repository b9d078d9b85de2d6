package wren.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.TopicPartition;
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

    static KafkaConsumer<String, String> modern(String group) {
        return consumer(group, "group.protocol", "consumer");
    }

    /**
     * KIP-848 (`group.protocol=consumer`): the broker assigns (uniform assignor) and the members
     * reconcile over their heartbeats, so a partition is never owned by two members at once and
     * each stays with one member while both stay. When one leaves, the other gets everything; the
     * committed offsets are where a later member resumes. kafka-clients 3.9 (KIP-848 in preview,
     * ConsumerGroupHeartbeat v0) behaves the same against Wren as 4.4 (v1).
     */
    @Test
    void consumerProtocolMembersSharePartitionsOneLeavesAndALaterMemberResumes() throws Exception {
        int partitions = 4;
        String topic = Topics.create(partitions);
        String group = Wren.unique("g");
        produce(topic, partitions, 0, 200);
        List<ConsumerRecord<String, String>> read = new ArrayList<>();
        try (KafkaConsumer<String, String> a = modern(group)) {
            a.subscribe(List.of(topic));
            try (KafkaConsumer<String, String> b = modern(group)) {
                b.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 90_000;
                while (a.assignment().size() + b.assignment().size() != partitions
                        || a.assignment().isEmpty() || b.assignment().isEmpty()
                        || !caughtUp(a, 50) || !caughtUp(b, 50)) {
                    assertTrue(System.currentTimeMillis() < deadline, "read " + read.size()
                            + ", assignments " + a.assignment() + " / " + b.assignment());
                    Set<TopicPartition> overlap = new HashSet<>(a.assignment());
                    overlap.retainAll(b.assignment());
                    assertTrue(overlap.isEmpty(), "owned by both: " + overlap);
                    a.poll(Duration.ofMillis(100)).forEach(read::add);
                    b.poll(Duration.ofMillis(100)).forEach(read::add);
                }
                a.commitSync();
                b.commitSync();
            }
            // b left: a gets all four partitions, and reads b's from b's committed offsets.
            produce(topic, partitions, 200, 240);
            long deadline = System.currentTimeMillis() + 90_000;
            while (a.assignment().size() != partitions || !caughtUp(a, 60)) {
                assertTrue(System.currentTimeMillis() < deadline, "after b left: " + a.assignment());
                a.poll(Duration.ofMillis(100)).forEach(read::add);
            }
            a.commitSync();
        }
        // What a read before b took its partitions over (nothing committed yet) b reads again:
        // at-least-once, so count distinct values.
        assertEquals(240, Topics.values(read).size());
        produce(topic, partitions, 240, 260);
        List<ConsumerRecord<String, String>> resumed = new ArrayList<>();
        try (KafkaConsumer<String, String> c = modern(group)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 60_000;
            while (resumed.size() < 20 && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(resumed::add);
            }
            c.poll(Duration.ofMillis(500)).forEach(resumed::add); // nothing more may come
        }
        Set<String> expected = new HashSet<>();
        for (int i = 240; i < 260; i++) {
            expected.add("v" + i);
        }
        assertEquals(20, resumed.size(), "the later member reads only what came after the commit");
        assertEquals(expected, Topics.values(resumed));
    }

    /**
     * Admin's describeConsumerGroups (ConsumerGroupDescribe, in 3.9 as in 4.4) shows the group,
     * its assignor and the member's assignment.
     */
    @Test
    @SuppressWarnings("deprecation") // state(): the one accessor both client lines have
    void adminDescribesAConsumerProtocolGroup() throws Exception {
        String topic = Topics.create(2);
        String group = Wren.unique("g");
        try (KafkaConsumer<String, String> a = modern(group);
                Admin admin = Admin.create(Wren.props())) {
            a.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 60_000;
            while (a.assignment().size() != 2) {
                assertTrue(System.currentTimeMillis() < deadline, "never assigned");
                a.poll(Duration.ofMillis(100));
            }
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group))
                    .describedGroups().get(group).get();
            assertEquals(ConsumerGroupState.STABLE, d.state());
            assertEquals("uniform", d.partitionAssignor());
            assertEquals(1, d.members().size());
            assertEquals(2, d.members().iterator().next().assignment().topicPartitions().size());
        }
    }
}
