package streamscheck;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Produced;

/**
 * A Kafka Streams exactly_once_v2 keyed aggregation for tests/java/test_streams.py, run the same
 * way against Wren and against Kafka:
 *   produce BOOTSTRAP INPUT N      N records, key "user-(i % 7)", value "item-(i % 13)"
 *   app BOOTSTRAP APP_ID INPUT OUTPUT STATE_DIR
 *                                  re-keys by value (a repartition topic) and counts per item in a
 *                                  state store (a compacted changelog topic); no record cache, so
 *                                  every input record gives one update: item -> 1, 2, ..., n.
 *                                  Prints "processed N" every 100 records; runs until killed.
 *   read BOOTSTRAP OUTPUT N        read_committed from the output until N records (120 s at most);
 *                                  prints {item: [counts in offset order]} as JSON
 */
public final class StreamsCheck {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "produce" -> produce(args[1], args[2], Integer.parseInt(args[3]));
            case "app" -> app(args[1], args[2], args[3], args[4], args[5]);
            case "read" -> read(args[1], args[2], Integer.parseInt(args[3]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    static void produce(String bootstrap, String topic, int n) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("enable.idempotence", "true");
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, "user-" + (i % 7), "item-" + (i % 13)));
            }
            producer.flush();
        }
    }

    static void app(String bootstrap, String appId, String input, String output, String stateDir)
            throws InterruptedException {
        Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        props.put("consumer.auto.offset.reset", "earliest");
        StreamsBuilder builder = new StreamsBuilder();
        long[] processed = {0};
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
                .peek((k, v) -> {
                    if (++processed[0] % 100 == 0) {
                        System.out.println("processed " + processed[0]);
                        System.out.flush();
                    }
                })
                .groupBy((user, item) -> item, Grouped.with("by-item", Serdes.String(), Serdes.String()))
                .count()
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));
        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        CountDownLatch stopped = new CountDownLatch(1);
        streams.setUncaughtExceptionHandler(e -> {
            e.printStackTrace();
            stopped.countDown();
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
                    .StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            System.out.println("state " + now);
            System.out.flush();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(20));
            stopped.countDown();
        }));
        streams.start();
        stopped.await();
        System.exit(1); // only a failure gets here before SIGTERM
    }

    static void read(String bootstrap, String topic, int n) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("isolation.level", "read_committed");
        Map<String, List<Long>> counts = new TreeMap<>();
        int read = 0;
        try (KafkaConsumer<String, Long> consumer =
                new KafkaConsumer<>(props, new StringDeserializer(), new LongDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.currentTimeMillis() + 120_000;
            while (read < n && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(200))) {
                    counts.computeIfAbsent(r.key(), k -> new java.util.ArrayList<>()).add(r.value());
                    read++;
                }
            }
            // Anything past N (a duplicate) shows up in this last poll.
            for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(1000))) {
                counts.computeIfAbsent(r.key(), k -> new java.util.ArrayList<>()).add(r.value());
            }
        }
        StringBuilder json = new StringBuilder("{");
        counts.forEach((k, v) -> json.append(json.length() > 1 ? "," : "").append('"').append(k)
                .append("\":").append(v));
        System.out.println(json.append('}'));
    }
}
