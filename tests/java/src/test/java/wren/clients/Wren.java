package wren.clients;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Wren these tests run against: one process for the whole run (WREN_BIN, else
 * target/debug/wren), on a free loopback port (`--listen 127.0.0.1:0`, the address read from its
 * `wren listening on` line), data in a fresh directory, stopped when the JVM exits, with its
 * control listener (the request log, `requestVersions`); or the broker at JAVA_TESTS_BOOTSTRAP.
 */
final class Wren {
    private static String bootstrap;
    /** Wren's control listener (its request log), null against another broker. */
    private static String control;

    private Wren() {}

    static synchronized String bootstrap() {
        if (bootstrap == null) {
            // A broker already running instead (to check the tests themselves against Kafka).
            String given = System.getenv("JAVA_TESTS_BOOTSTRAP");
            bootstrap = given != null && !given.isEmpty() ? given : start();
        }
        return bootstrap;
    }

    private static String start() {
        String bin = System.getenv("WREN_BIN");
        if (bin == null || bin.isEmpty()) {
            bin = "../../target/debug/wren";
        }
        try {
            Path work = Files.createTempDirectory("wren-java-clients");
            // Wren's defaults (its 200 ms initial rebalance delay included: FirstRecordTest
            // measures what a user gets with them).
            ProcessBuilder builder = new ProcessBuilder(bin, "--listen", "127.0.0.1:0",
                    "--data-dir", work.resolve("data").toString(), "--control", "127.0.0.1:0");
            builder.redirectError(work.resolve("stderr.log").toFile());
            builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Process process = builder.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(process)));
            BufferedReader out = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            String prefix = "wren listening on ";
            if (line == null || !line.startsWith(prefix)) {
                process.destroyForcibly();
                throw new IllegalStateException("Wren (" + bin + ") did not start: " + line
                        + "; see " + work.resolve("stderr.log"));
            }
            String controlLine = out.readLine();
            String controlPrefix = "wren control on ";
            if (controlLine == null || !controlLine.startsWith(controlPrefix)) {
                process.destroyForcibly();
                throw new IllegalStateException("Wren printed no control address: " + controlLine);
            }
            control = controlLine.substring(controlPrefix.length()).trim();
            // Anything else it prints must not fill the pipe and stall it.
            Thread drain = new Thread(() -> out.lines().forEach(l -> { }), "wren-stdout");
            drain.setDaemon(true);
            drain.start();
            return line.substring(prefix.length()).trim();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start Wren from " + bin, e);
        }
    }

    private static void stop(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
        }
    }

    /**
     * The versions of `api` requests the client `clientId` sent, from Wren's request log (the
     * control listener's GET /v1/requests); null when the tests run against another broker.
     */
    static List<Integer> requestVersions(String api, String clientId) throws Exception {
        bootstrap();
        if (control == null) {
            return null;
        }
        HttpRequest request = HttpRequest.newBuilder(
                URI.create("http://" + control + "/v1/requests?api=" + api)).GET().build();
        String body = HttpClient.newHttpClient()
                .send(request, HttpResponse.BodyHandlers.ofString()).body();
        // One JSON object per request; the fields read here are plain numbers and strings.
        Matcher m = Pattern.compile(
                "\\{[^{}]*?\"api_version\":(\\d+),\"client_id\":\"([^\"]*)\"").matcher(body);
        List<Integer> versions = new ArrayList<>();
        while (m.find()) {
            if (m.group(2).equals(clientId)) {
                versions.add(Integer.parseInt(m.group(1)));
            }
        }
        return versions;
    }

    /** Client properties with the bootstrap address and the given pairs. */
    static Properties props(String... pairs) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap());
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            props.put(pairs[i], pairs[i + 1]);
        }
        return props;
    }

    /** The kafka-clients version on the class path (from the jar's kafka-version.properties). */
    static String clientVersion() {
        Properties props = new Properties();
        try (var in = Wren.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            props.load(in);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("no kafka/kafka-version.properties on the class path", e);
        }
        return props.getProperty("version");
    }

    /** A name no other test (or earlier run against the same broker) uses. */
    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
