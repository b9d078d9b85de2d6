package wren.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * How soon a classic-protocol group member gets its first record with Wren's default
 * `group.initial.rebalance.delay.ms` (issue 11 item 9, the same promise as the other clients'
 * first_record tests): within a second of being created, alone, and with a second member created
 * at the same moment (both in the first generation: one partition each).
 */
class FirstRecordTest {
    static final long WITHIN_MS = 1000;
    static final int PARTITIONS = 2;

    /** The JVM's first consumer loads the client's classes; a test suite's later ones do not. */
    @BeforeAll
    static void loadTheConsumerClasses() {
        try (KafkaConsumer<String, String> c = ConsumerGroupTest.classic(Wren.unique("warm-up"))) {
            c.listTopics(Duration.ofSeconds(30));
        }
    }

    static String topicWithARecordPerPartition() throws Exception {
        String topic = Topics.create(PARTITIONS);
        ConsumerGroupTest.produce(topic, PARTITIONS, 0, PARTITIONS);
        return topic;
    }

    /** Milliseconds from creating the consumer to its first record, and the partitions it owned. */
    static long[] firstRecord(String topic, String group) {
        long started = System.nanoTime();
        try (KafkaConsumer<String, String> c = ConsumerGroupTest.classic(group)) {
            c.subscribe(List.of(topic));
            while (System.nanoTime() - started < TimeUnit.SECONDS.toNanos(30)) {
                if (!c.poll(Duration.ofMillis(10)).isEmpty()) {
                    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                    return new long[] {took, c.assignment().size()};
                }
            }
        }
        throw new AssertionError("no record within 30 s");
    }

    @Test
    void aLoneConsumerReadsWithinASecond() throws Exception {
        long[] first = firstRecord(topicWithARecordPerPartition(), Wren.unique("g"));
        assertTrue(first[0] < WITHIN_MS, "first record after " + first[0] + " ms");
        assertEquals(PARTITIONS, first[1]);
    }

    @Test
    void twoConsumersStartedTogetherShareTheFirstGeneration() throws Exception {
        String topic = topicWithARecordPerPartition();
        String group = Wren.unique("g");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<long[]>> members = List.of(
                    pool.submit(() -> firstRecord(topic, group)),
                    pool.submit(() -> firstRecord(topic, group)));
            long[] a = members.get(0).get(60, TimeUnit.SECONDS);
            long[] b = members.get(1).get(60, TimeUnit.SECONDS);
            String both = "first records (ms, partitions owned): " + a[0] + ", " + a[1] + " and " + b[0] + ", " + b[1];
            assertTrue(a[0] < WITHIN_MS && b[0] < WITHIN_MS, both);
            // One partition each when the first record arrived: both in the first generation.
            assertTrue(a[1] == 1 && b[1] == 1, both);
        } finally {
            pool.shutdownNow();
        }
    }
}
