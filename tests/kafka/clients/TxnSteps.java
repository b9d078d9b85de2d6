package clients;

import static clients.ClientTranscript.arr;
import static clients.ClientTranscript.obj;

import clients.ClientTranscript.Recorder;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Transactions on `client-t` (one partition): a committed (offsets 0-2, marker 3), an aborted
 * (4-5, marker 6) and an open transaction (7-8), then the open one committed (marker 9). What
 * read_committed and read_uncommitted consumers return and where their positions stop (the LSO),
 * listOffsets by isolation level, describeProducers, describeTransactions, listTransactions.
 */
final class TxnSteps {
    static final String T = "client-t";
    static final TopicPartition T0 = new TopicPartition(T, 0);
    static final List<String> IDS = List.of("client-tx-commit", "client-tx-abort", "client-tx-open");

    static KafkaProducer<String, String> producer(Recorder r, String id) {
        KafkaProducer<String, String> p = new KafkaProducer<>(r.props("transactional.id", id,
                "transaction.timeout.ms", "60000"), new StringSerializer(), new StringSerializer());
        p.initTransactions();
        return p;
    }

    static void send(KafkaProducer<String, String> p, String prefix, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            p.send(new ProducerRecord<>(T, 0, 2000L + i, null, prefix + i)).get();
        }
    }

    static void run(Recorder r, Admin admin) throws Exception {
        admin.createTopics(List.of(new NewTopic(T, 1, (short) 1).configs(Map.of("retention.ms", "-1")))).all().get();
        ClientTranscript.waitFor(() -> admin.describeTopics(List.of(T)).allTopicNames().get().containsKey(T));
        r.step("txn committed", () -> {
            try (KafkaProducer<String, String> p = producer(r, IDS.get(0))) {
                p.beginTransaction();
                send(p, "c", 3);
                p.commitTransaction();
            }
            return obj().put("done", true);
        });
        r.step("txn aborted", () -> {
            try (KafkaProducer<String, String> p = producer(r, IDS.get(1))) {
                p.beginTransaction();
                send(p, "a", 2);
                p.abortTransaction();
            }
            return obj().put("done", true);
        });
        try (KafkaProducer<String, String> open = producer(r, IDS.get(2))) {
            open.beginTransaction();
            send(open, "o", 2);
            visibility(r, admin, "while-open", 7, 9);
            describe(r, admin, "while-open");
            open.commitTransaction();
        }
        visibility(r, admin, "after-commit", 10, 10);
        describe(r, admin, "after-commit");
    }

    /** Each isolation level: listOffsets latest, endOffsets, the records a consumer returns and its position. */
    static void visibility(Recorder r, Admin admin, String when, long lso, long hw) {
        // Kafka writes a transaction's markers after commitTransaction/abortTransaction return
        // (the coordinator answers once the outcome is logged), so its stable offset can trail
        // for a moment; Wren writes them before answering. Compare the settled state.
        ClientTranscript.waitFor(() -> admin.listOffsets(Map.of(T0, OffsetSpec.latest()),
                new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).partitionResult(T0).get().offset() == lso);
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            IsolationLevel level = IsolationLevel.valueOf(isolation.toUpperCase());
            r.step("list-offsets latest " + isolation + " " + when, () -> obj().put("offset",
                    admin.listOffsets(Map.of(T0, OffsetSpec.latest()), new ListOffsetsOptions(level))
                            .partitionResult(T0).get().offset()));
            r.step("consume " + isolation + " " + when, () -> {
                try (KafkaConsumer<String, String> c = PositionSteps.consumer(r, null, isolation)) {
                    c.assign(List.of(T0));
                    long end = c.endOffsets(List.of(T0)).get(T0);
                    ArrayNode records = PositionSteps.pollTo(c, T0, isolation.equals("read_committed") ? lso : hw);
                    return obj().put("endOffset", end).put("position", c.position(T0)).set("records", records);
                }
            });
        }
    }

    static void describe(Recorder r, Admin admin, String when) {
        r.step("describe-producers " + when, () -> {
            ArrayNode out = arr();
            List<ProducerState> states = new java.util.ArrayList<>(
                    admin.describeProducers(List.of(T0)).partitionResult(T0).get().activeProducers());
            states.sort(Comparator.comparingLong(ProducerState::producerId));
            for (ProducerState s : states) {
                out.addObject().put("producerId", s.producerId()).put("producerEpoch", s.producerEpoch())
                        .put("lastSequence", s.lastSequence()).put("lastTimestamp", s.lastTimestamp())
                        .put("coordinatorEpoch", s.coordinatorEpoch().orElse(-1))
                        .put("currentTransactionStartOffset", s.currentTransactionStartOffset().orElse(-1));
            }
            return out;
        });
        for (String id : List.of(IDS.get(0), IDS.get(2), "client-tx-missing")) {
            r.step("describe-transaction " + id + " " + when, () -> {
                TransactionDescription d = admin.describeTransactions(List.of(id)).description(id).get();
                return obj().put("state", d.state().name()).put("producerId", d.producerId())
                        .put("producerEpoch", d.producerEpoch()).put("timeoutMs", d.transactionTimeoutMs())
                        .put("transactionStartTimeMs", d.transactionStartTimeMs().orElse(-1))
                        .put("coordinator", d.coordinatorId())
                        .set("partitions", GroupSteps.partitions(d.topicPartitions()));
            });
        }
        r.step("list-transactions " + when, () -> {
            ObjectNode out = obj();
            List<TransactionListing> all = new java.util.ArrayList<>(admin.listTransactions().all().get());
            all.sort(Comparator.comparing(TransactionListing::transactionalId));
            for (TransactionListing t : all) {
                if (t.transactionalId().startsWith("client-tx-")) {
                    out.set(t.transactionalId(), obj().put("producerId", t.producerId()).put("state", t.state().name()));
                }
            }
            return out;
        });
    }

    private TxnSteps() {}
}
