package io.consentbridge.packaging;

import io.consentbridge.support.JarLauncher;
import org.apache.camel.test.AvailablePortFinder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The packaged jar, started as an operator starts it, with one thing wrong at a time: it ends within
 * seconds with a non-zero status and one line that names the setting (or the route file, line and
 * column), whatever it had started before (the embedded broker, the demo's Nylas); a secret given
 * as a bad value never appears. And {@code --check} judges settings and routes without connecting.
 */
class FailFastIT {
    static final String SECRET = "nyk_failfast_secret_7c1d";
    static Path bundledRoutes;

    record Run(int status, String output, long millis) {
        List<String> bridgeLines() {
            return output.lines().filter(l -> l.startsWith("consent-bridge:")).toList();
        }
    }

    @BeforeAll
    static void routes() throws IOException {
        bundledRoutes = Path.of("routes").toAbsolutePath();
    }

    @Test
    void aTypoInAnEditedRouteEndsTheProcessWithFileLineAndColumn() throws Exception {
        Path routes = routesWith("callback.camel.yaml", "ref: consentCallback", "reff: consentCallback");
        Run run = run(Map.of("ROUTES_DIR", routes.toString()), "--demo");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.bridgeLines()).singleElement().asString()
                .contains("Unsupported field: reff", "callback.camel.yaml", whereTheCallbacksBeanIsNamed());
        assertNoStackTrace(run);
    }

    @Test
    void aRoutesFolderThatDoesNotExistIsNamed() throws Exception {
        Run run = run(Map.of("ROUTES_DIR", "no-such-folder"), "--demo");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.bridgeLines().get(0)).contains("ROUTES_DIR (routes.dir) = \"no-such-folder\"", "exists");
    }

    @Test
    void aBadDurationIsNamed() throws Exception {
        Run run = run(Map.of("CONSENT_TTL", "abc"), "--demo");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.bridgeLines().get(0)).contains("CONSENT_TTL (consent.ttl) = \"abc\"", "ISO-8601 duration");
    }

    @Test
    void aLedgerDatabaseThatIsDownIsNamedAndItsPasswordIsNot() throws Exception {
        int port = AvailablePortFinder.getNextAvailable();
        Run run = run(Map.of("DB_URL", "jdbc:postgresql://127.0.0.1:" + port + "/bridge?password=" + SECRET), "--demo");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.bridgeLines()).singleElement().asString().contains("DB_URL (ledger.url)", "cannot be opened", "Connection refused");
        assertThat(run.output()).doesNotContain(SECRET);
        assertNoStackTrace(run);
    }

    @Test
    void withoutTheNylasSettingsBothAreNamed() throws Exception {
        Run run = run(Map.of());
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.output()).contains("NYLAS_API_KEY (nylas.api-key) not set", "NYLAS_CLIENT_ID (nylas.client-id) not set");
    }

    @Test
    void demoModeNextToARealApiKeyIsRefused() throws Exception {
        Run run = run(Map.of("NYLAS_API_KEY", SECRET), "--demo");
        assertThat(run.status()).isEqualTo(2);
        assertThat(run.bridgeLines()).singleElement().asString().contains("NYLAS_API_KEY");
        assertThat(run.output()).doesNotContain(SECRET);
    }

    @Test
    void everySettingWithABadValueIsNamedAndNoSecretIsShown() throws Exception {
        long seed = Long.getLong("failfast.seed", System.nanoTime());
        java.util.Random random = new java.util.Random(seed);
        System.out.println("FailFastIT bad values: seed " + seed + " (-Dfailfast.seed to repeat)");
        // Each setting gets a bad value drawn from what people get wrong about it.
        Map<String, List<String>> kinds = new LinkedHashMap<>();
        kinds.put("HTTP_PORT", List.of("eighty", "-1", "65536", "8080.0", "9" + random.nextInt(1_000_000) + "99999"));
        kinds.put("MANAGEMENT_PORT", List.of("70000", "port", "-" + (1 + random.nextInt(100))));
        kinds.put("NYLAS_API_URI", List.of("http://api.us.nylas.com", "api.us.nylas.com", "ftp://nylas", "https//api.nylas.com"));
        kinds.put("CONSENT_REDIRECT_URI", List.of("/relative/callback", "callback", "mailto:a@b.c", "http:/x"));
        kinds.put("KAFKA_BROKERS", List.of("kafka-without-port", "kafka:port", "kafka:0", "PLAINTEXT://kafka:9092", "kafka:" + (70000 + random.nextInt(1000))));
        kinds.put("CONSENT_TTL", List.of("7 days", "7d", "P7", "abc", "-P1D", "PT0S", "1" + random.nextInt(100)));
        kinds.put("DB_URL", List.of("jdbc:oracle:thin:@db:1521/x", "postgres://db/x", "jdbc:mysql://db/x", "h2:file:./x"));
        kinds.put("ONBOARDING_TOPIC", List.of("tenant onboarding", "a/b", "t#" + random.nextInt(100), "x".repeat(250)));
        kinds.put("MAILBOX_TOPIC", List.of("a/b", "..", "mailbox topic", "m@ilboxes"));
        kinds.put("CONSENT_URL_TOPIC", List.of("..", ".", "urls!", "ü-topic"));
        kinds.put("RESULT_TOPIC", List.of("r".repeat(250 + random.nextInt(10)), "results,dlq", "res ults"));
        kinds.put("DLQ_TOPIC", List.of("dlq#1", "dlq:1", "d l q"));
        kinds.put("NYLAS_MAX_RPS", List.of("0", "-5", "forty", "40.5", "" + (-random.nextInt(1000))));
        kinds.put("ROUTES_RELOAD", List.of("sometimes", "yes", "1", "on"));
        kinds.put("ROUTES_DIR", List.of("no-such-folder-" + random.nextInt(1000), "/nonexistent/routes"));
        Map<String, String> bad = new LinkedHashMap<>();
        kinds.forEach((variable, values) -> bad.put(variable, values.get(random.nextInt(values.size()))));
        System.out.println("FailFastIT bad values: " + bad);
        Map<String, String> env = new LinkedHashMap<>(bad);
        env.put("NYLAS_API_KEY", SECRET);
        env.put("NYLAS_CLIENT_ID", "client");
        env.put("ADMIN_TOKEN", SECRET + "-admin");
        env.put("DB_PASSWORD", SECRET + "-db");
        Run run = run(env);
        assertThat(run.status()).isEqualTo(2);
        for (String variable : bad.keySet()) {
            assertThat(run.bridgeLines()).as(variable + " = " + bad.get(variable)).anyMatch(line -> line.contains(variable + " ("));
        }
        assertThat(run.bridgeLines()).as("one line per bad setting, and the summary").hasSize(bad.size() + 1);
        assertThat(run.output()).doesNotContain(SECRET);
    }

    @Test
    void anUnreachableBrokerDoesNotHoldTheManagementPortClosed() throws Exception {
        JarLauncher jar = JarLauncher.inNewFolder("consent-bridge-nokafka").args("--demo")
                .env("KAFKA_BROKERS", "127.0.0.1:" + AvailablePortFinder.getNextAvailable());
        JarLauncher.Running process = jar.start();
        try {
            int status = process.awaitHealthAnswer(Duration.ofSeconds(30));
            System.out.println("unreachable broker: health answered " + status + " " + process.millis() + " ms after java -jar");
            assertThat(status).isEqualTo(503);
            // What is measured is the log of a stretch of time (the client warnings of the first seconds),
            // in another process: there is no event to wait for.
            Thread.sleep(5000);
            String log = process.log();
            assertThat(log.lines().filter(l -> l.contains("Kafka does not answer at KAFKA_BROKERS"))).hasSize(1);
            long reconnectWarnings = log.lines().filter(l -> l.contains("NetworkClient") && l.contains("WARN")).count();
            System.out.println("unreachable broker: " + reconnectWarnings + " client warnings in the first seconds");
            assertThat(reconnectWarnings).isLessThan(20);
        } finally {
            assertThat(process.stop(Duration.ofSeconds(60))).isTrue();
        }
    }

    // ---- --check ---------------------------------------------------------------------------------

    @Test
    void checkAcceptsTheBundledRoutes() throws Exception {
        Run run = run(Map.of("ROUTES_DIR", bundledRoutes.toString()), "--check", "--demo");
        assertThat(run.status()).as(run.output()).isZero();
        assertThat(run.output()).contains("OK");
    }

    @Test
    void checkNamesATypoWithItsLine() throws Exception {
        Run run = run(Map.of("ROUTES_DIR", routesWith("callback.camel.yaml", "ref: consentCallback", "reff: consentCallback").toString()),
                "--check", "--demo");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.bridgeLines()).singleElement().asString().contains("reff", whereTheCallbacksBeanIsNamed());
    }

    @Test
    void checkNamesAnUnknownBean() throws Exception {
        Run run = run(Map.of("ROUTES_DIR", routesWith("callback.camel.yaml", "ref: consentCallback", "ref: consentCallbak").toString()),
                "--check", "--demo");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.bridgeLines()).singleElement().asString().contains("route consent-callback", "consentCallbak");
    }

    @Test
    void checkNamesABadEndpointOption() throws Exception {
        Run run = run(Map.of("ROUTES_DIR", routesWith("callback.camel.yaml", "httpMethodRestrict: GET", "httpMethodRestrikt: GET").toString()),
                "--check", "--demo");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.bridgeLines()).singleElement().asString().contains("route consent-callback", "httpMethodRestrikt");
    }

    @Test
    void checkNamesAMissingFolder() throws Exception {
        Run run = run(Map.of("ROUTES_DIR", "no-such-folder"), "--check", "--demo");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.bridgeLines().get(0)).contains("ROUTES_DIR");
    }

    // ---- helpers ---------------------------------------------------------------------------------

    static void assertNoStackTrace(Run run) {
        assertThat(run.output().lines().filter(l -> l.trim().startsWith("at ") && l.contains("("))).as("stack trace lines").isEmpty();
    }

    /**
     * Where the tests' typo ({@code reff: consentCallback} for the callback route's {@code ref: consentCallback})
     * is, as Camel's YAML errors say it: "line L, column C", both one-based, C the column of the value.
     */
    static String whereTheCallbacksBeanIsNamed() throws IOException {
        List<String> lines = Files.readAllLines(bundledRoutes.resolve("callback.camel.yaml"));
        for (int i = 0; i < lines.size(); i++) {
            int at = lines.get(i).indexOf("ref: consentCallback");
            if (at >= 0) {
                return "line " + (i + 1) + ", column " + (at + "reff: ".length() + 1);
            }
        }
        throw new AssertionError("callback.camel.yaml names no consentCallback bean");
    }

    /** A copy of the bundled routes with one text replaced in one file. */
    static Path routesWith(String file, String from, String to) throws IOException {
        Path dir = Files.createTempDirectory("routes");
        try (Stream<Path> files = Files.list(bundledRoutes)) {
            for (Path f : files.toList()) {
                String text = Files.readString(f);
                if (f.getFileName().toString().equals(file)) {
                    assertThat(text).contains(from);
                    text = text.replaceFirst(java.util.regex.Pattern.quote(from), java.util.regex.Matcher.quoteReplacement(to));
                }
                Files.writeString(dir.resolve(f.getFileName()), text);
            }
        }
        return dir;
    }

    /** Runs the jar in a fresh folder with only these settings from the environment; it must end within 30 s. */
    static Run run(Map<String, String> env, String... args) throws Exception {
        JarLauncher.Ended ended = JarLauncher.inNewFolder("consent-bridge-failfast").env(env).args(args).run(Duration.ofSeconds(30));
        assertThat(ended.byItself()).as("ended within 30 s; output:\n" + ended.output()).isTrue();
        System.out.printf("%s %s -> exit %d in %d ms%n", env.keySet(), List.of(args), ended.status(), ended.millis());
        return new Run(ended.status(), ended.output(), ended.millis());
    }
}
