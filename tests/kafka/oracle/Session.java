package oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Map;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;

/**
 * One broker's run of the scenario: every request goes through `call`, which records the step's
 * name, API, version and the response as JSON in `transcript`. Both brokers get the same calls at
 * the same versions (the highest version both advertise, unless a step names one).
 */
final class Session {
    final Wire wire;
    final String bootstrap;
    final ArrayNode transcript = JsonNodeFactory.instance.arrayNode();
    /** The version range both brokers advertise, per API key: {min, max}. */
    final Map<Short, short[]> common;

    Session(String bootstrap, Map<Short, short[]> common) throws IOException {
        this.bootstrap = bootstrap;
        this.wire = new Wire(bootstrap);
        this.common = common;
    }

    boolean supports(ApiKeys key) {
        return common.containsKey(key.id);
    }

    short max(ApiKeys key) {
        return common.get(key.id)[1];
    }

    short min(ApiKeys key) {
        return common.get(key.id)[0];
    }

    /** Sends at the highest common version and records the answer under `step`. */
    <T extends ApiMessage> T call(String step, ApiKeys key, ApiMessage request) throws IOException {
        return callAt(step, key, max(key), request);
    }

    @SuppressWarnings("unchecked")
    <T extends ApiMessage> T callAt(String step, ApiKeys key, short version, ApiMessage request)
            throws IOException {
        ApiMessage response = wire.send(key, version, request);
        JsonNode json = Wire.json(response, version);
        // Coordinators that are loading or moving, and transactions still completing, are
        // retried as clients do; only the final answer is compared.
        long deadline = System.currentTimeMillis() + 30_000;
        while (retriable(json) && System.currentTimeMillis() < deadline) {
            Scenario.sleep(100);
            response = wire.send(key, version, request);
            json = Wire.json(response, version);
        }
        if (response instanceof FetchResponseData fetch) {
            withBatches(fetch, (ObjectNode) json);
        }
        ObjectNode entry = transcript.addObject();
        entry.put("step", step);
        entry.put("api", key.name);
        entry.put("version", version);
        entry.set("response", json);
        return (T) response;
    }

    private static final java.util.Set<Integer> RETRIABLE = java.util.Set.of(
            14, // COORDINATOR_LOAD_IN_PROGRESS
            15, // COORDINATOR_NOT_AVAILABLE
            16, // NOT_COORDINATOR
            51); // CONCURRENT_TRANSACTIONS

    private static boolean retriable(JsonNode json) {
        for (JsonNode code : json.findValues("errorCode")) {
            if (RETRIABLE.contains(code.asInt())) {
                return true;
            }
        }
        return false;
    }

    /** Records a value the scenario derived (e.g. how a poll ended) under `step`. */
    void note(String step, JsonNode value) {
        ObjectNode entry = transcript.addObject();
        entry.put("step", step);
        entry.set("response", value);
    }

    /** The topic's id as this broker assigned it (Metadata v12 by name). */
    Uuid topicId(String topic) throws IOException {
        MetadataRequestData request = new MetadataRequestData().setAllowAutoTopicCreation(false);
        request.topics().add(new MetadataRequestData.MetadataRequestTopic().setName(topic));
        MetadataResponseData response = (MetadataResponseData) wire.send(ApiKeys.METADATA,
                max(ApiKeys.METADATA), request);
        return response.topics().iterator().next().topicId();
    }

    private static void withBatches(FetchResponseData fetch, ObjectNode json) {
        ArrayNode topics = (ArrayNode) json.get("responses");
        int t = 0;
        for (FetchResponseData.FetchableTopicResponse topic : fetch.responses()) {
            ArrayNode partitions = (ArrayNode) topics.get(t++).get("partitions");
            int p = 0;
            for (FetchResponseData.PartitionData partition : topic.partitions()) {
                ((ObjectNode) partitions.get(p++)).set("records", Wire.batches(partition.records()));
            }
        }
    }
}
