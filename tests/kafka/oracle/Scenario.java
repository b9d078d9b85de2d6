package oracle;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.List;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopic;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopicConfig;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsRequestData.DescribeConfigsResource;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

/**
 * The recorded sequence of requests, the same for both brokers. Steps are named for what they
 * check; error paths sit next to the happy path they vary. Topics: `oracle-a` (3 partitions,
 * records, groups), `oracle-b` (compacted, explicit configs), `oracle-txn` (transactions).
 */
final class Scenario {
    static final String A = "oracle-a";
    static final String B = "oracle-b";
    static final String TXN = "oracle-txn";

    static void run(Session s) throws Exception {
        apiVersions(s);
        createTopics(s);
        metadata(s);
        Records.run(s);
        Producers.run(s);
        Groups.run(s);
        Admin.run(s);
        Admin.deleteGroups(s);
        describeConfigs(s);
        deleteTopics(s);
        Groups.afterDelete(s);
    }

    static void apiVersions(Session s) throws IOException {
        for (short v = s.min(ApiKeys.API_VERSIONS); v <= s.max(ApiKeys.API_VERSIONS); v++) {
            ApiVersionsRequestData request = new ApiVersionsRequestData();
            if (v >= 3) {
                request.setClientSoftwareName("wren-oracle").setClientSoftwareVersion("1.0");
            }
            s.callAt("api-versions", ApiKeys.API_VERSIONS, v, request);
        }
    }

    static CreatableTopic topic(String name, int partitions, int replicationFactor, String... configs) {
        CreatableTopic topic = new CreatableTopic().setName(name).setNumPartitions(partitions)
                .setReplicationFactor((short) replicationFactor);
        for (int i = 0; i + 1 < configs.length; i += 2) {
            topic.configs().add(new CreatableTopicConfig().setName(configs[i]).setValue(configs[i + 1]));
        }
        return topic;
    }

    static void createTopics(Session s, String step, boolean validateOnly, CreatableTopic... topics)
            throws IOException {
        CreateTopicsRequestData request = new CreateTopicsRequestData().setTimeoutMs(30_000)
                .setValidateOnly(validateOnly);
        for (CreatableTopic t : topics) {
            request.topics().add(t.duplicate());
        }
        s.call(step, ApiKeys.CREATE_TOPICS, request);
    }

    static void createTopics(Session s) throws IOException {
        createTopics(s, "create-topics", false, topic(A, 3, 1), topic(TXN, 2, 1),
                topic(B, 1, 1, "cleanup.policy", "compact", "retention.ms", "3600000",
                        "max.message.bytes", "500000"));
        createTopics(s, "create-topics-defaults", false, topic("oracle-defaults", -1, -1));
        createTopics(s, "create-topics-existing", false, topic(A, 3, 1));
        createTopics(s, "create-topics-zero-partitions", false, topic("oracle-zero", 0, 1));
        createTopics(s, "create-topics-negative-partitions", false, topic("oracle-neg", -5, 1));
        createTopics(s, "create-topics-replication-3", false, topic("oracle-rf3", 1, 3));
        createTopics(s, "create-topics-replication-0", false, topic("oracle-rf0", 1, 0));
        createTopics(s, "create-topics-bad-config-value", false,
                topic("oracle-bad-value", 1, 1, "retention.ms", "soon"));
        createTopics(s, "create-topics-unknown-config", false,
                topic("oracle-unknown-config", 1, 1, "no.such.config", "1"));
        createTopics(s, "create-topics-bad-cleanup-policy", false,
                topic("oracle-bad-policy", 1, 1, "cleanup.policy", "shred"));
        createTopics(s, "create-topics-invalid-name", false, topic("bad name!", 1, 1));
        createTopics(s, "create-topics-dot-name", false, topic("..", 1, 1));
        createTopics(s, "create-topics-long-name", false, topic("x".repeat(250), 1, 1));
        createTopics(s, "create-topics-validate-only", true, topic("oracle-validate", 2, 1));
        // The same name twice in one request: INVALID_REQUEST for both in Kafka.
        CreateTopicsRequestData twice = new CreateTopicsRequestData().setTimeoutMs(30_000);
        twice.topics().add(topic("oracle-twice", 1, 1));
        twice.topics().add(topic("oracle-twice", 2, 1));
        s.call("create-topics-duplicate-in-request", ApiKeys.CREATE_TOPICS, twice);
        waitForTopics(s, A, B, TXN, "oracle-defaults");
    }

    /** Kafka creates topics through its controller: wait until every partition has a leader. */
    static void waitForTopics(Session s, String... names) throws IOException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            MetadataRequestData request = new MetadataRequestData().setAllowAutoTopicCreation(false);
            for (String name : names) {
                request.topics().add(new MetadataRequestData.MetadataRequestTopic().setName(name));
            }
            MetadataResponseData response = (MetadataResponseData) s.wire.send(ApiKeys.METADATA,
                    s.max(ApiKeys.METADATA), request);
            boolean ready = response.topics().stream().allMatch(t -> t.errorCode() == 0
                    && t.partitions().stream().allMatch(p -> p.leaderId() >= 0));
            if (ready) {
                return;
            }
            sleep(50);
        }
        s.note("wait-for-topics-timed-out", JsonNodeFactory.instance.textNode(String.join(",", names)));
    }

    static void metadata(Session s) throws IOException {
        for (short v = s.min(ApiKeys.METADATA); v <= s.max(ApiKeys.METADATA); v++) {
            MetadataRequestData request = new MetadataRequestData();
            for (String name : List.of(A, B)) {
                request.topics().add(new MetadataRequestData.MetadataRequestTopic().setName(name));
            }
            if (v >= 4) {
                request.setAllowAutoTopicCreation(false);
            }
            s.callAt("metadata-two-topics", ApiKeys.METADATA, v, request);
        }
        MetadataRequestData unknown = new MetadataRequestData().setAllowAutoTopicCreation(false);
        unknown.topics().add(new MetadataRequestData.MetadataRequestTopic().setName("oracle-nope"));
        s.call("metadata-unknown-topic-no-autocreate", ApiKeys.METADATA, unknown);
        MetadataRequestData invalid = new MetadataRequestData().setAllowAutoTopicCreation(true);
        invalid.topics().add(new MetadataRequestData.MetadataRequestTopic().setName("bad name!"));
        s.call("metadata-invalid-topic-name", ApiKeys.METADATA, invalid);
        s.call("metadata-all-topics", ApiKeys.METADATA, new MetadataRequestData().setTopics(null));
        s.call("metadata-no-topics", ApiKeys.METADATA, new MetadataRequestData());
    }

    static void describeConfigs(Session s) throws IOException {
        DescribeConfigsRequestData request = new DescribeConfigsRequestData().setIncludeSynonyms(true);
        request.resources().add(new DescribeConfigsResource().setResourceType((byte) 2).setResourceName(B)
                .setConfigurationKeys(List.of("cleanup.policy", "retention.ms", "max.message.bytes",
                        "segment.bytes", "min.insync.replicas", "message.timestamp.type",
                        "compression.type", "retention.bytes")));
        request.resources().add(new DescribeConfigsResource().setResourceType((byte) 4).setResourceName("1")
                .setConfigurationKeys(List.of("log.segment.bytes", "num.partitions",
                        "log.retention.hours", "log.retention.ms", "group.initial.rebalance.delay.ms",
                        "message.max.bytes", "auto.create.topics.enable", "default.replication.factor",
                        "offsets.topic.replication.factor", "group.max.size")));
        request.resources().add(new DescribeConfigsResource().setResourceType((byte) 2)
                .setResourceName("oracle-nope"));
        s.call("describe-configs-keys", ApiKeys.DESCRIBE_CONFIGS, request);
        // Every config of a topic: which names each broker lists at all.
        DescribeConfigsRequestData all = new DescribeConfigsRequestData();
        all.resources().add(new DescribeConfigsResource().setResourceType((byte) 2).setResourceName(A)
                .setConfigurationKeys(null));
        s.call("describe-configs-all-topic", ApiKeys.DESCRIBE_CONFIGS, all);
    }

    static void deleteTopics(Session s) throws IOException {
        short v = s.max(ApiKeys.DELETE_TOPICS);
        DeleteTopicsRequestData request = new DeleteTopicsRequestData().setTimeoutMs(30_000);
        for (String name : List.of(A, "oracle-nope")) {
            if (v >= 6) {
                request.topics().add(new DeleteTopicsRequestData.DeleteTopicState().setName(name));
            } else {
                request.topicNames().add(name);
            }
        }
        s.call("delete-topics", ApiKeys.DELETE_TOPICS, request);
        if (v >= 6) {
            DeleteTopicsRequestData byId = new DeleteTopicsRequestData().setTimeoutMs(30_000);
            byId.topics().add(new DeleteTopicsRequestData.DeleteTopicState().setName(null)
                    .setTopicId(org.apache.kafka.common.Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ")));
            s.call("delete-topics-unknown-id", ApiKeys.DELETE_TOPICS, byId);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Scenario() {}
}
