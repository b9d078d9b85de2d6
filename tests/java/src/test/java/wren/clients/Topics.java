package wren.clients;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/** What several tests share: creating topics, reading a topic back by assignment. */
final class Topics {
    private Topics() {}

    static String create(int partitions) throws ExecutionException, InterruptedException {
        String name = Wren.unique("t");
        try (Admin admin = Admin.create(Wren.props())) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
        }
        return name;
    }

    /**
     * Every record of the topic's partitions from offset 0 until `done` holds for what was read,
     * or fails after 30 s. `isolation`: read_committed or read_uncommitted.
     */
    static List<ConsumerRecord<String, String>> readAll(String topic, int partitions, String isolation,
            java.util.function.Predicate<List<ConsumerRecord<String, String>>> done) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(
                Wren.props("isolation.level", isolation, "enable.auto.commit", "false"),
                new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + 30_000;
            while (!done.test(records)) {
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError("read " + records.size() + " records of " + topic
                            + " (" + isolation + ") in 30 s, not done");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    /** The values read, per partition, in offset order. */
    static Map<Integer, List<String>> byPartition(List<ConsumerRecord<String, String>> records) {
        Map<Integer, List<String>> out = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
            out.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r.value());
        }
        return out;
    }

    static Set<String> values(List<ConsumerRecord<String, String>> records) {
        Set<String> out = new java.util.HashSet<>();
        records.forEach(r -> out.add(r.value()));
        return out;
    }
}
