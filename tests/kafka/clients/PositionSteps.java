package clients;

import static clients.ClientTranscript.arr;
import static clients.ClientTranscript.obj;

import clients.ClientTranscript.Recorder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Consumer positions on `client-a` partition 0 (records 3..9 after deleteRecords; create times
 * 1000 + offset) in group `client-group` (manual assignment, commits only): the position after
 * assign, polling, commits with metadata, committed(), seek, seekToBeginning/End, beginning and
 * end offsets, offsetsForTimes.
 */
final class PositionSteps {
    static final String GROUP = "client-group";
    static final TopicPartition A0 = AdminSteps.A0;

    static KafkaConsumer<String, String> consumer(Recorder r, String group, String isolation) {
        List<String> p = new java.util.ArrayList<>(List.of("group.protocol", "classic", "enable.auto.commit", "false",
                "auto.offset.reset", "earliest", "isolation.level", isolation, "client.id", "client-consumer"));
        if (group != null) {
            p.addAll(List.of("group.id", group));
        }
        return new KafkaConsumer<>(r.props(p.toArray(new String[0])), new StringDeserializer(),
                new StringDeserializer());
    }

    /** Polls until the position reaches `target` (or 30 s pass); the records as "offset:value". */
    static ArrayNode pollTo(KafkaConsumer<String, String> c, TopicPartition tp, long target) {
        ArrayNode seen = arr();
        long deadline = System.currentTimeMillis() + 30_000;
        while (c.position(tp) < target && System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<String, String> rec : c.poll(Duration.ofMillis(200))) {
                seen.add(rec.offset() + ":" + rec.value() + "@" + rec.timestamp());
            }
        }
        return seen;
    }

    static void run(Recorder r, Admin admin) {
        try (KafkaConsumer<String, String> c = consumer(r, GROUP, "read_uncommitted")) {
            c.assign(List.of(A0));
            r.step("position after-assign", () -> obj().put("position", c.position(A0)));
            r.step("beginning-end-offsets", () -> obj()
                    .put("beginning", c.beginningOffsets(List.of(A0)).get(A0))
                    .put("end", c.endOffsets(List.of(A0)).get(A0)));
            r.step("poll to-end", () -> obj().set("records", pollTo(c, A0, 10)));
            r.step("position after-poll", () -> obj().put("position", c.position(A0)));
            r.step("committed before-commit", () -> committed(c));
            r.step("commit-sync 7", () -> {
                c.commitSync(Map.of(A0, new OffsetAndMetadata(7, "meta")));
                return obj().put("committed", true);
            });
            r.step("committed after-commit", () -> committed(c));
            r.step("seek 5", () -> {
                c.seek(A0, 5);
                return obj().put("position", c.position(A0)).set("records", pollTo(c, A0, 6));
            });
            r.step("seek-to-end", () -> {
                c.seekToEnd(List.of(A0));
                return obj().put("position", c.position(A0));
            });
            r.step("seek-to-beginning", () -> {
                c.seekToBeginning(List.of(A0));
                return obj().put("position", c.position(A0));
            });
            r.step("seek 1 below-log-start", () -> {
                c.seek(A0, 1);
                // Out of range: auto.offset.reset=earliest moves the position to the log start.
                return obj().set("records", pollTo(c, A0, 4));
            });
            r.step("position after-reset", () -> obj().put("position", c.position(A0)));
            r.step("offsets-for-times", () -> {
                Map<TopicPartition, Long> query = new HashMap<>();
                ObjectNode out = obj();
                for (long ts : new long[] {0, 1005, 1009, 99_999}) {
                    query.put(A0, ts);
                    OffsetAndTimestamp found = c.offsetsForTimes(query).get(A0);
                    out.set("at-" + ts, found == null ? obj().putNull("found") : obj()
                            .put("offset", found.offset()).put("timestamp", found.timestamp())
                            .put("leaderEpoch", found.leaderEpoch().orElse(-1)));
                }
                return out;
            });
        }
        try (KafkaConsumer<String, String> c = consumer(r, GROUP, "read_uncommitted")) {
            r.step("new-consumer committed", () -> committed(c));
            c.assign(List.of(A0));
            r.step("new-consumer position", () -> obj().put("position", c.position(A0)));
        }
    }

    static JsonNode committed(KafkaConsumer<String, String> c) {
        OffsetAndMetadata m = c.committed(Set.of(A0)).get(A0);
        return m == null ? obj().putNull("committed") : obj().put("offset", m.offset())
                .put("metadata", m.metadata()).put("leaderEpoch", m.leaderEpoch().orElse(-1));
    }

    private PositionSteps() {}
}
