package oracle;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.List;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.protocol.ApiKeys;

/** The classic group protocol: join, sync, heartbeat, commit and fetch offsets, leave. */
final class Groups {
    static final String GROUP = "oracle-group";

    static void run(Session s) throws IOException {
        Producers.findCoordinator(s, "find-coordinator-group", (byte) 0, GROUP);

        JoinGroupResponseData first = join(s, "join-group-no-member-id", "");
        String memberId = first.memberId();
        JoinGroupResponseData joined = join(s, "join-group", memberId);
        int generation = joined.generationId();
        SyncGroupRequestData sync = new SyncGroupRequestData().setGroupId(GROUP).setGenerationId(generation)
                .setMemberId(memberId).setProtocolType("consumer").setProtocolName("range");
        sync.assignments().add(new SyncGroupRequestData.SyncGroupRequestAssignment().setMemberId(memberId)
                .setAssignment(Records.bytes("assignment")));
        s.call("sync-group", ApiKeys.SYNC_GROUP, sync);
        s.call("sync-group-wrong-generation", ApiKeys.SYNC_GROUP, sync.duplicate().setGenerationId(generation + 7));

        heartbeat(s, "heartbeat", generation, memberId);
        heartbeat(s, "heartbeat-wrong-generation", generation + 7, memberId);
        heartbeat(s, "heartbeat-unknown-member", generation, "oracle-unknown-member");
        HeartbeatRequestData unknownGroup = new HeartbeatRequestData().setGroupId("oracle-no-group")
                .setGenerationId(1).setMemberId(memberId);
        s.call("heartbeat-unknown-group", ApiKeys.HEARTBEAT, unknownGroup);

        commit(s, "offset-commit", generation, memberId, 2, "meta");
        commit(s, "offset-commit-wrong-generation", generation + 7, memberId, 3, "x");
        commit(s, "offset-commit-unknown-member", generation, "oracle-unknown-member", 3, "x");
        commit(s, "offset-commit-metadata-too-large", generation, memberId, 3, "m".repeat(5000));
        fetchOffsets(s, "offset-fetch", List.of(Scenario.A, "oracle-nope"));
        fetchOffsets(s, "offset-fetch-all", null);

        DescribeGroupsRequestData describe = new DescribeGroupsRequestData()
                .setGroups(List.of(GROUP, "oracle-no-group"));
        s.call("describe-groups", ApiKeys.DESCRIBE_GROUPS, describe);

        LeaveGroupRequestData leave = new LeaveGroupRequestData().setGroupId(GROUP);
        if (s.max(ApiKeys.LEAVE_GROUP) >= 3) {
            leave.members().add(new LeaveGroupRequestData.MemberIdentity().setMemberId(memberId));
        } else {
            leave.setMemberId(memberId);
        }
        s.call("leave-group", ApiKeys.LEAVE_GROUP, leave);
        // An empty group takes simple (generation -1) commits.
        commit(s, "offset-commit-empty-group", -1, "", 4, "after-leave");
    }

    static JoinGroupResponseData join(Session s, String step, String memberId) throws IOException {
        JoinGroupRequestData request = new JoinGroupRequestData().setGroupId(GROUP).setSessionTimeoutMs(30_000)
                .setRebalanceTimeoutMs(30_000).setMemberId(memberId).setProtocolType("consumer");
        request.protocols().add(new JoinGroupRequestData.JoinGroupRequestProtocol().setName("range")
                .setMetadata(Records.bytes("subscription")));
        return s.call(step, ApiKeys.JOIN_GROUP, request);
    }

    static void heartbeat(Session s, String step, int generation, String memberId) throws IOException {
        s.call(step, ApiKeys.HEARTBEAT, new HeartbeatRequestData().setGroupId(GROUP).setGenerationId(generation)
                .setMemberId(memberId));
    }

    static void commit(Session s, String step, int generation, String memberId, long offset, String metadata)
            throws IOException {
        short v = s.max(ApiKeys.OFFSET_COMMIT);
        OffsetCommitRequestData request = new OffsetCommitRequestData().setGroupId(GROUP)
                .setGenerationIdOrMemberEpoch(generation).setMemberId(memberId);
        OffsetCommitRequestData.OffsetCommitRequestTopic topic = new OffsetCommitRequestData.OffsetCommitRequestTopic();
        if (v >= 10) {
            topic.setTopicId(s.topicId(Scenario.A));
        } else {
            topic.setName(Scenario.A);
        }
        topic.partitions().add(new OffsetCommitRequestData.OffsetCommitRequestPartition().setPartitionIndex(0)
                .setCommittedOffset(offset).setCommittedMetadata(metadata));
        request.topics().add(topic);
        s.call(step, ApiKeys.OFFSET_COMMIT, request);
    }

    /** OffsetFetch of `topics` (partition 0 of each), or of every committed offset when null. */
    static OffsetFetchResponseData fetchOffsets(Session s, String step, List<String> topics) throws IOException {
        short v = s.max(ApiKeys.OFFSET_FETCH);
        OffsetFetchRequestData request = new OffsetFetchRequestData();
        if (v >= 8) {
            OffsetFetchRequestData.OffsetFetchRequestGroup group = new OffsetFetchRequestData.OffsetFetchRequestGroup()
                    .setGroupId(GROUP);
            if (topics == null) {
                group.setTopics(null);
            } else {
                for (String name : topics) {
                    OffsetFetchRequestData.OffsetFetchRequestTopics topic =
                            new OffsetFetchRequestData.OffsetFetchRequestTopics().setPartitionIndexes(List.of(0));
                    if (v >= 10) {
                        topic.setTopicId(s.topicId(name)); // the zero id for a topic that is gone
                    } else {
                        topic.setName(name);
                    }
                    group.topics().add(topic);
                }
            }
            request.groups().add(group);
        } else {
            request.setGroupId(GROUP);
            if (topics == null) {
                request.setTopics(null);
            } else {
                for (String name : topics) {
                    request.topics().add(new OffsetFetchRequestData.OffsetFetchRequestTopic().setName(name)
                            .setPartitionIndexes(List.of(0)));
                }
            }
        }
        return s.call(step, ApiKeys.OFFSET_FETCH, request);
    }

    /** After DeleteTopics of oracle-a: its committed offsets go (Kafka drops them asynchronously). */
    static void afterDelete(Session s) throws IOException {
        long deadline = System.currentTimeMillis() + 30_000;
        boolean gone = false;
        while (!gone && System.currentTimeMillis() < deadline) {
            OffsetFetchResponseData all = (OffsetFetchResponseData) s.wire.send(ApiKeys.OFFSET_FETCH,
                    s.max(ApiKeys.OFFSET_FETCH), fetchAllRequest(s));
            gone = Wire.json(all, s.max(ApiKeys.OFFSET_FETCH)).toString().indexOf(Scenario.A) < 0;
            if (!gone) {
                Scenario.sleep(100);
            }
        }
        s.note("offsets-of-deleted-topic-gone", JsonNodeFactory.instance.booleanNode(gone));
        fetchOffsets(s, "offset-fetch-deleted-topic", List.of(Scenario.A));
        fetchOffsets(s, "offset-fetch-all-after-delete", null);
    }

    private static OffsetFetchRequestData fetchAllRequest(Session s) {
        OffsetFetchRequestData request = new OffsetFetchRequestData();
        if (s.max(ApiKeys.OFFSET_FETCH) >= 8) {
            request.groups().add(new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(GROUP).setTopics(null));
        } else {
            request.setGroupId(GROUP).setTopics(null);
        }
        return request;
    }

    private Groups() {}
}
