package clients;

import static clients.ClientTranscript.arr;
import static clients.ClientTranscript.obj;

import clients.ClientTranscript.Recorder;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * AdminClient outputs: topics (create, describe, partitions), configs (describe and incremental
 * alter, topic and broker), offsets (listOffsets by spec, deleteRecords). Topics: `client-a`
 * (3 partitions, 10 records with create times 1000..1009 in partition 0), `client-b` (compacted,
 * explicit configs, grown to 2 partitions).
 */
final class AdminSteps {
    static final String A = "client-a";
    static final String B = "client-b";
    static final TopicPartition A0 = new TopicPartition(A, 0);
    /** The topic keys Kafka users read (tools, operators); the whole list is host- and version-specific. */
    static final List<String> TOPIC_KEYS = List.of("cleanup.policy", "retention.ms", "retention.bytes",
            "segment.bytes", "segment.ms", "max.message.bytes", "min.insync.replicas", "compression.type",
            "message.timestamp.type", "min.compaction.lag.ms", "delete.retention.ms", "min.cleanable.dirty.ratio");
    /** Broker keys both brokers are given the same (see WREN_CONFIG) or leave at Kafka's default. */
    static final List<String> BROKER_KEYS = List.of("node.id", "log.segment.bytes",
            "group.initial.rebalance.delay.ms", "num.partitions", "default.replication.factor",
            "auto.create.topics.enable", "message.max.bytes", "log.retention.hours", "log.retention.ms",
            "log.cleanup.policy", "compression.type", "min.insync.replicas", "transaction.max.timeout.ms",
            "offsets.retention.minutes", "delete.topic.enable");

    static void run(Recorder r, Admin admin) throws Exception {
        createTopics(r, admin);
        describeTopics(r, admin, "describe-topics");
        configs(r, admin);
        produce(r);
        offsets(r, admin);
        createPartitions(r, admin);
    }

    static void createTopics(Recorder r, Admin admin) {
        List<NewTopic> topics = List.of(
                // Infinite retention: the records' create times (1000 + offset) are long past.
                new NewTopic(A, 3, (short) 1).configs(Map.of("retention.ms", "-1")),
                new NewTopic(B, 1, (short) 1).configs(Map.of("cleanup.policy", "compact",
                        "retention.ms", "1000000", "max.message.bytes", "200000")));
        CreateTopicsResult created = admin.createTopics(topics);
        for (NewTopic t : topics) {
            r.step("create-topic " + t.name(), () -> obj()
                    .put("topicId", created.topicId(t.name()).get().toString())
                    .put("numPartitions", created.numPartitions(t.name()).get())
                    .put("replicationFactor", created.replicationFactor(t.name()).get())
                    .set("config", config(created.config(t.name()).get(), TOPIC_KEYS)));
        }
        ClientTranscript.waitFor(() -> admin.describeTopics(List.of(A, B)).allTopicNames().get().size() == 2);
        // Each error path on its own topic name, so one answer cannot hide another.
        List<NewTopic> bad = List.of(
                new NewTopic(A, 1, (short) 1),
                new NewTopic("client bad name", 1, (short) 1),
                new NewTopic("client-rf3", 1, (short) 3),
                new NewTopic("client-zero", 0, (short) 1),
                new NewTopic("client-badconfig", 1, (short) 1).configs(Map.of("retention.ms", "abc")),
                new NewTopic("client-unknownconfig", 1, (short) 1).configs(Map.of("no.such.config", "1")));
        for (NewTopic t : bad) {
            r.step("create-topic-error " + t.name(), () -> {
                admin.createTopics(List.of(t)).all().get();
                return obj().put("created", true);
            });
        }
    }

    static void describeTopics(Recorder r, Admin admin, String step) {
        for (String name : List.of(A, B, "client-missing")) {
            r.step(step + " " + name, () -> {
                TopicDescription d = admin.describeTopics(List.of(name)).allTopicNames().get().get(name);
                ArrayNode partitions = arr();
                for (TopicPartitionInfo p : d.partitions()) {
                    ObjectNode partition = partitions.addObject().put("partition", p.partition())
                            .put("leaderNode", p.leader() == null ? -1 : p.leader().id());
                    partition.set("replicas", ids(p.replicas()));
                    partition.set("isr", ids(p.isr()));
                }
                return obj().put("name", d.name()).put("internal", d.isInternal())
                        .put("topicId", d.topicId().toString()).set("partitions", partitions);
            });
        }
    }

    static ArrayNode ids(List<Node> nodes) {
        ArrayNode out = arr();
        nodes.forEach(n -> out.add(n.id()));
        return out;
    }

    static ObjectNode config(Config config, List<String> keys) {
        ObjectNode out = obj();
        for (String key : keys) {
            ConfigEntry e = config.get(key);
            if (e != null) {
                out.putObject(key).put("value", e.value()).put("source", e.source().name())
                        .put("readOnly", e.isReadOnly()).put("sensitive", e.isSensitive())
                        .put("type", e.type() == null ? null : e.type().name());
            }
        }
        return out;
    }

    static void describeConfig(Recorder r, Admin admin, String step, ConfigResource resource, List<String> keys) {
        r.step(step, () -> config(admin.describeConfigs(List.of(resource)).all().get().get(resource), keys));
    }

    static void configs(Recorder r, Admin admin) {
        ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, B);
        describeConfig(r, admin, "describe-configs topic", topic, TOPIC_KEYS);
        describeConfig(r, admin, "describe-configs broker",
                new ConfigResource(ConfigResource.Type.BROKER, "1"), BROKER_KEYS);
        describeConfig(r, admin, "describe-configs missing-topic",
                new ConfigResource(ConfigResource.Type.TOPIC, "client-missing"), TOPIC_KEYS);
        alter(r, admin, "alter-configs set-and-delete", topic,
                new AlterConfigOp(new ConfigEntry("retention.ms", "2000000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("max.message.bytes", ""), AlterConfigOp.OpType.DELETE),
                new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.APPEND));
        ClientTranscript.waitFor(() -> "2000000".equals(
                admin.describeConfigs(List.of(topic)).all().get().get(topic).get("retention.ms").value()));
        describeConfig(r, admin, "describe-configs topic after-alter", topic, TOPIC_KEYS);
        alter(r, admin, "alter-configs bad-value", topic,
                new AlterConfigOp(new ConfigEntry("retention.ms", "abc"), AlterConfigOp.OpType.SET));
        alter(r, admin, "alter-configs unknown-key", topic,
                new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET));
        alter(r, admin, "alter-configs missing-topic", new ConfigResource(ConfigResource.Type.TOPIC, "client-missing"),
                new AlterConfigOp(new ConfigEntry("retention.ms", "1"), AlterConfigOp.OpType.SET));
        describeConfig(r, admin, "describe-configs topic after-errors", topic, TOPIC_KEYS);
    }

    static void alter(Recorder r, Admin admin, String step, ConfigResource resource, AlterConfigOp... ops) {
        r.step(step, () -> {
            admin.incrementalAlterConfigs(Map.of(resource, List.of(ops))).all().get();
            return obj().put("altered", true);
        });
    }

    static void produce(Recorder r) {
        r.step("produce client-a", () -> {
            try (KafkaProducer<String, String> p = new KafkaProducer<>(r.props(), new StringSerializer(),
                    new StringSerializer())) {
                ArrayNode offsets = arr();
                for (int i = 0; i < 10; i++) {
                    offsets.add(p.send(new ProducerRecord<>(A, 0, 1000L + i, "k" + i, "v" + i)).get().offset());
                }
                return offsets;
            }
        });
    }

    static void listOffsets(Recorder r, Admin admin, String step, Map<String, OffsetSpec> specs) {
        for (Map.Entry<String, OffsetSpec> spec : new TreeMap<>(specs).entrySet()) {
            r.step(step + " " + spec.getKey(), () -> {
                ListOffsetsResultInfo info = admin.listOffsets(Map.of(A0, spec.getValue())).partitionResult(A0).get();
                return obj().put("offset", info.offset()).put("timestamp", info.timestamp())
                        .put("leaderEpoch", info.leaderEpoch().orElse(-1));
            });
        }
    }

    static Map<String, OffsetSpec> specs() {
        return Map.of("earliest", OffsetSpec.earliest(), "latest", OffsetSpec.latest(),
                "max-timestamp", OffsetSpec.maxTimestamp(), "at-1005", OffsetSpec.forTimestamp(1005),
                "at-1000", OffsetSpec.forTimestamp(1000), "after-last", OffsetSpec.forTimestamp(99_999));
    }

    static void offsets(Recorder r, Admin admin) {
        listOffsets(r, admin, "list-offsets", specs());
        deleteRecords(r, admin, "delete-records before-3", A0, 3);
        deleteRecords(r, admin, "delete-records beyond-end", A0, 50);
        listOffsets(r, admin, "list-offsets after-delete", specs());
    }

    static void deleteRecords(Recorder r, Admin admin, String step, TopicPartition tp, long before) {
        r.step(step, () -> {
            KafkaFuture<org.apache.kafka.clients.admin.DeletedRecords> low =
                    admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(before))).lowWatermarks().get(tp);
            return obj().put("lowWatermark", low.get().lowWatermark());
        });
    }

    static void createPartitions(Recorder r, Admin admin) {
        Map<String, Integer> asks = new TreeMap<>(Map.of(A, 2, B, 2, "client-missing", 4));
        for (Map.Entry<String, Integer> ask : asks.entrySet()) {
            String step = "create-partitions " + ask.getKey() + " to-" + ask.getValue();
            r.step(step, () -> {
                admin.createPartitions(Map.of(ask.getKey(), NewPartitions.increaseTo(ask.getValue()))).all().get();
                return obj().put("created", true);
            });
        }
        r.step("create-partitions client-a same-count", () -> {
            admin.createPartitions(Map.of(A, NewPartitions.increaseTo(3))).all().get();
            return obj().put("created", true);
        });
        ClientTranscript.waitFor(() ->
                admin.describeTopics(List.of(B)).allTopicNames().get().get(B).partitions().size() == 2);
        describeTopics(r, admin, "describe-topics after-create-partitions");
    }

    private AdminSteps() {}
}
