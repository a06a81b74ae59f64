package io.consentbridge.bench;

import io.consentbridge.support.JarLauncher;
import io.consentbridge.support.SharedKafka;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Start-up: wall time from launching {@code java -jar target/consent-bridge.jar} (a separate process)
 * to the first 200 from {@code /observe/health/ready}, asked every 20 ms, against a broker in this JVM
 * (so the measured process never pays for Kafka). Each round starts every variant twice: on a new
 * ledger, new topics and a new consumer group (a first start: migrations, topic creation), then again
 * on the same folder (a restart). Variants: the jar without the class-data-sharing archive, with it
 * ({@code -XX:SharedArchiveFile=target/consent-bridge.jsa}, when the build made one), and with
 * {@code -Dbench.jvm-options="..."} added to the archive's, when given. Rounds interleave the variants.
 * Prints each start, then the median and range per variant; also the process's resident memory at
 * the moment it turned ready. Asserts only that every start turned ready.
 * <p>Run: {@code mvn -q -o test -Pbenchmark -Dtest=StartupBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * (-Dbench.rounds=5, -Dbench.jvm-options="...", -Dbench.jar=path, -Dbench.archive=path; -Dbench.java=path for another Java runtime,
 * with -Dbench.archive=none and its own options, such as a JDK 25 AOT cache). Needs the packaged jar and archive: {@code mvn -q -o package -DskipTests}.
 */
class StartupBenchmark {
    /** -Dbench.jar=path and -Dbench.archive=path measure another build (the archive must be that jar's). */
    static final Path JAR = Path.of(System.getProperty("bench.jar", JarLauncher.JAR.toString())).toAbsolutePath();
    static final Path ARCHIVE = Path.of(System.getProperty("bench.archive", JarLauncher.ARCHIVE.toString())).toAbsolutePath();
    final int rounds = Integer.getInteger("bench.rounds", 5);
    final List<String> extra = Arrays.stream(System.getProperty("bench.jvm-options", "").trim().split("\\s+"))
            .filter(o -> !o.isEmpty()).toList();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    record Start(String variant, String ledger, long readyMs, long rssMb) {
    }

    @Test
    void readyAfterStart() throws Exception {
        assertThat(JAR).as("the packaged jar; build it with: mvn -q -o package -DskipTests").exists();
        Map<String, List<String>> variants = new LinkedHashMap<>();
        variants.put("no archive", List.of("-Xshare:auto"));
        if (Files.exists(ARCHIVE)) {
            variants.put("archive", List.of("-XX:SharedArchiveFile=" + ARCHIVE));
            if (!extra.isEmpty()) {
                List<String> both = new ArrayList<>(variants.get("archive"));
                both.addAll(extra);
                variants.put("archive " + String.join(" ", extra), both);
            }
        } else {
            System.out.println("No " + ARCHIVE + ": measuring the jar without class-data sharing only");
            if (!extra.isEmpty()) {
                variants.put(String.join(" ", extra), extra);
            }
        }
        String bootstrap = SharedKafka.bootstrapServers();
        List<Start> starts = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            for (Map.Entry<String, List<String>> variant : variants.entrySet()) {
                String id = UUID.randomUUID().toString().substring(0, 8);
                Path folder = Files.createTempDirectory("startup-bench");
                for (String ledger : List.of("new", "reused")) {
                    Start start = startOnce(variant.getKey(), variant.getValue(), ledger, folder, id, bootstrap);
                    System.out.printf("round %d  %-28s %-7s ledger  ready after %5d ms  RSS %4d MB%n",
                            round, variant.getKey(), ledger, start.readyMs(), start.rssMb());
                    starts.add(start);
                }
                deleteQuietly(folder);
            }
        }
        System.out.println();
        System.out.println("| variant | ledger | ready, median (range), ms | RSS at ready, median, MB |");
        System.out.println("|---|---|---|---|");
        for (String variant : variants.keySet()) {
            for (String ledger : List.of("new", "reused")) {
                List<Start> of = starts.stream().filter(s -> s.variant().equals(variant) && s.ledger().equals(ledger)).toList();
                List<Long> ms = of.stream().map(Start::readyMs).sorted().toList();
                List<Long> rss = of.stream().map(Start::rssMb).sorted().toList();
                System.out.printf("| %s | %s | %d (%d-%d) | %d |%n", variant, ledger, median(ms), ms.get(0), ms.get(ms.size() - 1), median(rss));
            }
        }
    }

    Start startOnce(String variant, List<String> jvmOptions, String ledger, Path folder, String id, String bootstrap) throws Exception {
        JarLauncher launcher = new JarLauncher(folder).jar(JAR)
                .jvmOptions(jvmOptions)
                .jvmOptions(List.of("-Dkafka.group-id=startup-" + id))
                .env("KAFKA_BROKERS", bootstrap)
                .env("NYLAS_API_KEY", "nyk_startup_bench")
                .env("NYLAS_CLIENT_ID", "startup-bench")
                // Nothing listens there: readiness does not ask Nylas.
                .env("NYLAS_API_URI", "http://127.0.0.1:9")
                .env("ADMIN_TOKEN", "startup-bench")
                .env("DB_URL", "jdbc:h2:file:" + folder.resolve("data").resolve("consent-bridge"));
        launcher.env("CONSENT_REDIRECT_URI", launcher.httpUri("/nylas/admin-consent/callback").toString());
        for (String name : List.of("ONBOARDING", "MAILBOX", "CONSENT_URL", "RESULT", "DLQ", "COMMAND")) {
            launcher.env(name + "_TOPIC", name.toLowerCase().replace('_', '-') + "-" + id);
        }
        URI ready = launcher.managementUri("/observe/health/ready");
        try (JarLauncher.Running process = launcher.start(ledger + ".log")) {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (true) {
                assertThat(process.process.isAlive()).as("the bundle ended before it was ready:\n" + process.tail(40)).isTrue();
                assertThat(System.nanoTime()).as("not ready within 120 s:\n" + process.tail(40)).isLessThan(deadline);
                if (status(ready) == 200) {
                    long ms = process.millis();
                    long rss = rssMb(process.pid());
                    assertThat(process.stop(Duration.ofSeconds(60))).as("stopped on SIGTERM").isTrue();
                    return new Start(variant, ledger, ms, rss);
                }
                Thread.sleep(20);
            }
        }
    }

    int status(URI uri) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException notListeningYet) {
            return -1;
        }
    }

    static long rssMb(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream()
                .filter(l -> l.startsWith("VmRSS:")).map(l -> Long.parseLong(l.replaceAll("\\D", "")) / 1024).findFirst().orElse(-1L);
    }

    static long median(List<Long> sorted) {
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder
        }
    }
}
