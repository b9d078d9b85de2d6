package oracle;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

/**
 * Runs the differential scenario against two brokers and writes each one's transcript:
 *
 *   java oracle.Transcript KAFKA_BOOTSTRAP WREN_BOOTSTRAP OUT_DIR
 *
 * writes OUT_DIR/kafka.json and OUT_DIR/wren.json (a list of {step, api, version, response}).
 * tests/kafka/test_differential.py starts the brokers and compares the two files.
 */
public final class Transcript {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Transcript KAFKA_BOOTSTRAP WREN_BOOTSTRAP OUT_DIR");
            System.exit(2);
        }
        Map<Short, short[]> kafka = advertised(args[0]);
        Map<Short, short[]> wren = advertised(args[1]);
        Map<Short, short[]> common = new HashMap<>();
        for (Map.Entry<Short, short[]> e : kafka.entrySet()) {
            short[] other = wren.get(e.getKey());
            ApiKeys key = ApiKeys.forId(e.getKey());
            if (other != null) {
                short min = (short) Math.max(e.getValue()[0], other[0]);
                short max = (short) Math.min(Math.min(e.getValue()[1], other[1]), key.latestVersion());
                if (min <= max) {
                    common.put(e.getKey(), new short[] {min, max});
                }
            }
        }
        ObjectMapper mapper = new ObjectMapper();
        String[] names = {"kafka", "wren"};
        for (int i = 0; i < 2; i++) {
            Session session = new Session(args[i], common);
            try {
                Scenario.run(session);
            } catch (Exception e) {
                ObjectNode failure = session.transcript.addObject();
                failure.put("step", "scenario-aborted");
                failure.put("error", e.toString());
            } finally {
                session.wire.close();
            }
            mapper.writerWithDefaultPrettyPrinter()
                    .writeValue(new File(args[2], names[i] + ".json"), session.transcript);
        }
    }

    /** ApiVersions v3 (every broker since Kafka 2.4 has it): key -> {min, max}. */
    private static Map<Short, short[]> advertised(String bootstrap) throws Exception {
        try (Wire wire = new Wire(bootstrap)) {
            ApiVersionsResponseData response = (ApiVersionsResponseData) wire.send(ApiKeys.API_VERSIONS,
                    (short) 3, new ApiVersionsRequestData()
                            .setClientSoftwareName("wren-oracle").setClientSoftwareVersion("1"));
            Map<Short, short[]> ranges = new HashMap<>();
            for (ApiVersionsResponseData.ApiVersion v : response.apiKeys()) {
                if (ApiKeys.hasId(v.apiKey())) {
                    ranges.put(v.apiKey(), new short[] {v.minVersion(), v.maxVersion()});
                }
            }
            return ranges;
        }
    }

    private Transcript() {}
}
