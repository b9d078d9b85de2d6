package clients;

import static clients.ClientTranscript.arr;
import static clients.ClientTranscript.obj;

import clients.ClientTranscript.Recorder;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Consumer groups through the AdminClient: `client-group` (commits only, from PositionSteps) and
 * `client-sub` (a classic-protocol member subscribed to `client-b`): describeConsumerGroups while
 * a member is active and after it leaves, listConsumerGroupOffsets, deleteConsumerGroupOffsets
 * (refused while subscribed, accepted when empty).
 */
final class GroupSteps {
    static final String SUB = "client-sub";
    static final TopicPartition B0 = new TopicPartition(AdminSteps.B, 0);
    static final TopicPartition B1 = new TopicPartition(AdminSteps.B, 1);

    static void run(Recorder r, Admin admin) {
        describe(r, admin, "describe-group commits-only", PositionSteps.GROUP);
        describe(r, admin, "describe-group missing", "client-no-such-group");
        listOffsets(r, admin, "list-group-offsets commits-only", PositionSteps.GROUP);
        try (KafkaConsumer<String, String> c = PositionSteps.consumer(r, SUB, "read_uncommitted")) {
            c.subscribe(List.of(AdminSteps.B));
            long deadline = System.currentTimeMillis() + 30_000;
            while (c.assignment().size() < 2 && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(100));
            }
            r.note("subscribed assignment", arr().add(c.assignment().size()));
            r.step("subscribed commit-sync", () -> {
                c.commitSync(Map.of(B0, new OffsetAndMetadata(0), B1, new OffsetAndMetadata(0, "b1")));
                return obj().put("committed", true);
            });
            describe(r, admin, "describe-group stable", SUB);
            listOffsets(r, admin, "list-group-offsets stable", SUB);
            deleteOffsets(r, admin, "delete-group-offsets subscribed", SUB, B0);
        }
        describe(r, admin, "describe-group after-leave", SUB);
        deleteOffsets(r, admin, "delete-group-offsets empty-group", SUB, B0);
        listOffsets(r, admin, "list-group-offsets after-delete", SUB);
        deleteOffsets(r, admin, "delete-group-offsets commits-only", PositionSteps.GROUP, AdminSteps.A0);
        deleteOffsets(r, admin, "delete-group-offsets missing-group", "client-no-such-group", AdminSteps.A0);
        listOffsets(r, admin, "list-group-offsets commits-only after-delete", PositionSteps.GROUP);
    }

    static void describe(Recorder r, Admin admin, String step, String group) {
        r.step(step, () -> {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            ArrayNode members = arr();
            for (MemberDescription m : d.members()) {
                members.addObject().put("memberId", m.consumerId()).put("clientId", m.clientId())
                        .put("groupInstanceId", m.groupInstanceId().orElse(null))
                        .set("assignment", partitions(m.assignment().topicPartitions()));
            }
            return obj().put("groupId", d.groupId()).put("simple", d.isSimpleConsumerGroup())
                    .put("state", String.valueOf(d.groupState())).put("type", String.valueOf(d.type()))
                    .put("assignor", d.partitionAssignor()).put("coordinator", d.coordinator().id())
                    .set("members", members);
        });
    }

    static ArrayNode partitions(Set<TopicPartition> tps) {
        ArrayNode out = arr();
        tps.stream().sorted(Comparator.comparing(TopicPartition::toString)).forEach(tp -> out.add(tp.toString()));
        return out;
    }

    static void listOffsets(Recorder r, Admin admin, String step, String group) {
        r.step(step, () -> {
            Map<TopicPartition, OffsetAndMetadata> offsets =
                    admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            ObjectNode out = obj();
            new TreeMap<>(toStrings(offsets)).forEach((tp, m) ->
                    out.set(tp, m == null ? obj().putNull("offset") : obj().put("offset", m.offset())
                            .put("metadata", m.metadata()).put("leaderEpoch", m.leaderEpoch().orElse(-1))));
            return out;
        });
    }

    static Map<String, OffsetAndMetadata> toStrings(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<String, OffsetAndMetadata> out = new java.util.HashMap<>();
        offsets.forEach((tp, m) -> out.put(tp.toString(), m));
        return out;
    }

    static void deleteOffsets(Recorder r, Admin admin, String step, String group, TopicPartition tp) {
        r.step(step, () -> {
            admin.deleteConsumerGroupOffsets(group, Set.of(tp)).partitionResult(tp).get();
            return obj().put("deleted", true);
        });
    }

    private GroupSteps() {}
}
