package wren.clients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;

class AdminTest {
    static Admin admin() {
        return Admin.create(Wren.props());
    }

    @Test
    void topicsAreCreatedDescribedConfiguredAndDeleted() throws Exception {
        String topic = Wren.unique("admin");
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1)
                    .configs(Map.of("retention.ms", "3600000")))).all().get();
            assertTrue(admin.listTopics().names().get().contains(topic));
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            assertEquals(3, d.partitions().size());
            d.partitions().forEach(p -> {
                assertNotNull(p.leader(), "leader of " + p.partition());
                assertEquals(1, p.replicas().size());
                assertEquals(1, p.isr().size());
            });
            ExecutionException dup = assertThrows(ExecutionException.class, () ->
                    admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get());
            assertEquals("TopicExistsException", dup.getCause().getClass().getSimpleName());

            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            ConfigEntry retention = topicConfig(admin, resource).get("retention.ms");
            assertEquals("3600000", retention.value());
            assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source());
            ConfigEntry cleanup = topicConfig(admin, resource).get("cleanup.policy");
            assertEquals("delete", cleanup.value());
            assertTrue(cleanup.isDefault());
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET)))).all().get();
            assertEquals("7200000", topicConfig(admin, resource).get("retention.ms").value());

            admin.deleteTopics(List.of(topic)).all().get();
            ExecutionException gone = assertThrows(ExecutionException.class, () ->
                    admin.describeTopics(List.of(topic)).allTopicNames().get());
            assertTrue(gone.getCause() instanceof UnknownTopicOrPartitionException, gone.toString());
            assertFalse(admin.listTopics().names().get().contains(topic));
        }
    }

    static Config topicConfigs(Admin admin, ConfigResource resource) throws Exception {
        return admin.describeConfigs(List.of(resource)).all().get().get(resource);
    }

    static Map<String, ConfigEntry> topicConfig(Admin admin, ConfigResource resource) throws Exception {
        Map<String, ConfigEntry> out = new java.util.HashMap<>();
        topicConfigs(admin, resource).entries().forEach(e -> out.put(e.name(), e));
        return out;
    }

    @Test
    void clusterAndBrokerConfigsDescribeOneNode() throws Exception {
        try (Admin admin = admin()) {
            DescribeClusterResult cluster = admin.describeCluster();
            Collection<Node> nodes = cluster.nodes().get();
            assertEquals(1, nodes.size());
            Node node = nodes.iterator().next();
            assertEquals(Wren.bootstrap(), node.host() + ":" + node.port());
            assertEquals(node.id(), cluster.controller().get().id());
            assertNotNull(cluster.clusterId().get());
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(node.id()));
            Config config = admin.describeConfigs(List.of(broker)).all().get().get(broker);
            // Wren's own default (Kafka's is 3000), reported as a default.
            assertEquals("200", config.get("group.initial.rebalance.delay.ms").value());
            assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG,
                    config.get("group.initial.rebalance.delay.ms").source());
        }
    }

    @Test
    void listOffsetsAnswersEarliestLatestAndByTimestamp() throws Exception {
        String topic = Topics.create(1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 60_000;
        try (KafkaProducer<String, String> producer = ProducerTest.producer()) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, 0, base + i * 1000L, null, "v" + i));
            }
            producer.flush();
        }
        try (Admin admin = admin()) {
            assertEquals(0, offset(admin, tp, OffsetSpec.earliest()).offset());
            assertEquals(10, offset(admin, tp, OffsetSpec.latest()).offset());
            ListOffsetsResult.ListOffsetsResultInfo at = offset(admin, tp, OffsetSpec.forTimestamp(base + 4500));
            assertEquals(5, at.offset());
            assertEquals(base + 5000, at.timestamp());
            ListOffsetsResult.ListOffsetsResultInfo max = offset(admin, tp, OffsetSpec.maxTimestamp());
            assertEquals(9, max.offset());
            assertEquals(base + 9000, max.timestamp());
            assertEquals(-1, offset(admin, tp, OffsetSpec.forTimestamp(base + 60_000)).offset());
        }
    }

    static ListOffsetsResult.ListOffsetsResultInfo offset(Admin admin, TopicPartition tp, OffsetSpec spec)
            throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get();
    }

    @Test
    @SuppressWarnings("deprecation") // listConsumerGroups: the one call both client lines have
    void consumerGroupsAreListedDescribedAndTheirOffsetsManaged() throws Exception {
        String topic = Topics.create(2);
        String group = Wren.unique("g");
        ConsumerGroupTest.produce(topic, 2, 0, 20);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        try (Admin admin = admin();
                KafkaConsumer<String, String> consumer = ConsumerGroupTest.consumer(group,
                        "client.id", "admin-test-member", "group.protocol", "classic")) {
            consumer.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 30_000;
            int read = 0;
            while (read < 20 && System.currentTimeMillis() < deadline) {
                read += consumer.poll(Duration.ofMillis(200)).count();
            }
            assertEquals(20, read);
            consumer.commitSync();

            Collection<ConsumerGroupListing> listed = admin.listConsumerGroups().all().get();
            assertTrue(listed.stream().anyMatch(g -> g.groupId().equals(group)), listed.toString());
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            assertEquals(1, d.members().size());
            var member = d.members().iterator().next();
            assertEquals("admin-test-member", member.clientId());
            assertEquals(java.util.Set.of(p0, p1), member.assignment().topicPartitions());
            assertEquals("range", d.partitionAssignor()); // the first of the client's default strategies
            Map<TopicPartition, OffsetAndMetadata> offsets =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            assertEquals(10, offsets.get(p0).offset());
            assertEquals(10, offsets.get(p1).offset());
        }
        try (Admin admin = admin()) {
            // Empty now: its offsets may be changed and the group deleted.
            admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(3))).all().get();
            assertEquals(3, admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .get(p0).offset());
            admin.deleteConsumerGroupOffsets(group, java.util.Set.of(p1)).all().get();
            assertFalse(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .containsKey(p1));
            admin.deleteConsumerGroups(List.of(group)).all().get();
            assertTrue(admin.listConsumerGroups().all().get().stream().noneMatch(g -> g.groupId().equals(group)));
        }
    }
}
