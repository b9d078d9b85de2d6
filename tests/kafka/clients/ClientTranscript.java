package clients;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.util.Properties;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;

/**
 * The client-level differential scenario (issue 16): Kafka's own clients (AdminClient, consumer,
 * producer) driven through the same steps against two brokers, each step recording what the
 * client API returned (or the exception it threw) as JSON:
 *
 *   java clients.ClientTranscript KAFKA_BOOTSTRAP WREN_BOOTSTRAP OUT_DIR
 *
 * writes OUT_DIR/kafka.json and OUT_DIR/wren.json (a list of {step, response} or {step, error});
 * tests/kafka/test_differential_clients.py compares them with differential.py.
 */
public final class ClientTranscript {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ClientTranscript KAFKA_BOOTSTRAP WREN_BOOTSTRAP OUT_DIR");
            System.exit(2);
        }
        String[] names = {"kafka", "wren"};
        ObjectMapper mapper = new ObjectMapper();
        for (int i = 0; i < 2; i++) {
            Recorder r = new Recorder(args[i]);
            try (Admin admin = Admin.create(r.props())) {
                AdminSteps.run(r, admin);
                PositionSteps.run(r, admin);
                GroupSteps.run(r, admin);
                TxnSteps.run(r, admin);
            } catch (Exception e) {
                r.transcript.addObject().put("step", "scenario-aborted").put("error", e.toString());
            }
            mapper.writerWithDefaultPrettyPrinter().writeValue(new File(args[2], names[i] + ".json"), r.transcript);
        }
    }

    /** One broker's run: the bootstrap and the steps recorded so far. */
    static final class Recorder {
        final String bootstrap;
        final ArrayNode transcript = JsonNodeFactory.instance.arrayNode();

        Recorder(String bootstrap) {
            this.bootstrap = bootstrap;
        }

        /** Client settings shared by every client; short timeouts so an unsupported call fails fast. */
        Properties props(String... more) {
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap);
            p.put("request.timeout.ms", "10000");
            p.put("default.api.timeout.ms", "20000");
            for (int i = 0; i + 1 < more.length; i += 2) {
                p.put(more[i], more[i + 1]);
            }
            return p;
        }

        /** Runs `body` and records its value, or the simple name of the exception it ended with. */
        void step(String name, Body body) {
            ObjectNode entry = transcript.addObject();
            entry.put("step", "client:" + name.replace(' ', '/'));
            long began = System.nanoTime();
            try {
                entry.set("response", body.run());
            } catch (Exception e) {
                entry.put("error", errorName(e));
                if (System.getenv("CLIENT_TRANSCRIPT_TRACE") != null) {
                    e.printStackTrace();
                }
            }
            // Slow steps are what makes the suite slow: say which (stderr, not the transcript).
            long ms = (System.nanoTime() - began) / 1_000_000;
            if (ms > 2000) {
                System.err.printf("%s: %s took %d ms%n", bootstrap, name, ms);
            }
        }

        /** Records a value the scenario already has. */
        void note(String name, JsonNode value) {
            transcript.addObject().put("step", "client:" + name.replace(' ', '/')).set("response", value);
        }
    }

    interface Body {
        JsonNode run() throws Exception;
    }

    /** The exception the client API reports, without the future's wrapper. */
    static String errorName(Throwable e) {
        while ((e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e.getClass().getSimpleName();
    }

    static ObjectNode obj() {
        return JsonNodeFactory.instance.objectNode();
    }

    static ArrayNode arr() {
        return JsonNodeFactory.instance.arrayNode();
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    /**
     * Waits (up to 15 s) until `condition` holds; an exception counts as "not yet". Kafka's admin
     * calls return once the controller committed the change, and the broker that answers the next
     * describe applies it a moment later (KRaft metadata propagation).
     */
    static void waitFor(Condition condition) {
        long deadline = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < deadline) {
            try {
                if (condition.holds()) {
                    return;
                }
            } catch (Exception e) {
                // not yet
            }
            sleep(100);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private ClientTranscript() {}
}
