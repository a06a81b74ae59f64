package io.consentbridge.bench;

import com.sun.net.httpserver.HttpServer;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.shared.LocalPostgres;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * Answers under load: many admins consenting at once, and health probes meanwhile. N tenants are
 * onboarded, then all N callbacks are sent at once (one connection each); the same client against a
 * trivial HTTP server on the same machine gives the floor. Prints numbers; asserts nothing about
 * speed. Run: {@code mvn -B test -Pbenchmark -Dtest=CallbackBenchmark} (-Dbench.callbacks=N,
 * -Dbench.db=postgres for PostgreSQL instead of H2, -Dbench.set.&lt;property&gt;=&lt;value&gt; to try a setting,
 * -Dbench.async-profiler=path/to/libasyncProfiler.so for a profile of each burst, -Dbench.profile-event=itimer|wall).
 */
class CallbackBenchmark {
    /** One thread per request in flight, so that all of them are sent at once. */
    static final java.util.concurrent.ExecutorService SENDERS = Executors.newCachedThreadPool();
    /** Probes that got no answer at all (counted as 10,000 ms), with what the client said. */
    static final List<String> PROBE_FAILURES = Collections.synchronizedList(new ArrayList<>());

    @Test
    void concurrentCallbacks() throws Exception {
        int n = Integer.getInteger("bench.callbacks", 200);
        int rounds = Integer.getInteger("bench.rounds", 3);
        boolean postgres = "postgres".equals(System.getProperty("bench.db"));
        BridgeUnderTest configured = postgres
                ? new BridgeUnderTest(new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start(), null,
                        LocalPostgres.shared().createDatabase("callback_bench")).with("ledger.user", LocalPostgres.USER)
                : new BridgeUnderTest();
        // -Dbench.set.<property>=<value> tries a setting, e.g. -Dbench.set.ledger.callback-pool-size=8
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("bench.set."))
                .forEach(k -> configured.with(k.substring("bench.set.".length()), System.getProperty(k)));
        try (BridgeUnderTest bridge = configured.start();
             TopicReader urls = bridge.reader("consent-urls");
             TopicReader results = bridge.reader("results")) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
            System.out.printf("%nCallback benchmark: %d callbacks at once, %d rounds, ledger %s%n", n, rounds,
                    bridge.settings.get("ledger.url").startsWith("jdbc:h2") ? "H2" : "PostgreSQL");
            // The floor: a trivial server answering a small page, same client, same machine.
            HttpServer trivial = trivialServer();
            try {
                for (int round = 1; round <= rounds; round++) {
                    List<URI> floorUris = Collections.nCopies(n, URI.create("http://127.0.0.1:" + trivial.getAddress().getPort() + "/cb"));
                    List<Long> floor = burst(client, floorUris, null, 200);
                    // The bridge's HTTP path alone: states not shaped like ours are refused before any lookup.
                    List<Long> refused = burst(client, Collections.nCopies(n, bridge.callbackUri("admin_consent=true&state=not-ours")), null, 400);
                    List<URI> callbacks = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        String tenant = "cb-" + round + "-" + i;
                        bridge.send("onboarding", tenant, "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant + "\"}");
                    }
                    for (int i = 0; i < n; i++) {
                        String tenant = "cb-" + round + "-" + i;
                        callbacks.add(bridge.callbackUri("admin_consent=true&state=" + urls.awaitConsentState(tenant, Duration.ofMinutes(2))));
                    }
                    List<Long> health = Collections.synchronizedList(new ArrayList<>());
                    long self = ProcessHandle.current().pid();
                    if (AsyncProfilerControl.LIBRARY != null) {
                        AsyncProfilerControl.start(self, System.getProperty("bench.profile-event", "itimer"));
                    }
                    List<Long> answers = burst(client, callbacks, () -> health.add(probe(client, bridge)), 200);
                    if (AsyncProfilerControl.LIBRARY != null) {
                        Path profile = Path.of("/tmp", "callback-burst-r" + round + "-" + System.currentTimeMillis() + ".collapsed");
                        AsyncProfilerControl.stop(self, profile);
                        System.out.println("  profile of the burst (async-profiler, collapsed stacks per thread, this JVM): " + profile);
                    }
                    int expected = n * round;
                    await().atMost(Duration.ofMinutes(2)).until(() -> results.events("consent.granted").size() >= expected);
                    System.out.printf("  round %d: trivial server p50 %d ms p99 %d ms | refused before the ledger p50 %d ms p99 %d ms"
                                    + " | bridge callbacks p50 %d ms p99 %d ms max %d ms"
                                    + " | health during the burst p50 %d ms max %d ms (%d probes)%n", round,
                            pct(floor, 50), pct(floor, 99), pct(refused, 50), pct(refused, 99), pct(answers, 50), pct(answers, 99), pct(answers, 100),
                            pct(health, 50), pct(health, 100), health.size());
                }
                Thread.sleep(1500);
                System.out.printf("  consent.granted events: %d for %d callbacks (each exactly once: %s)%n",
                        results.events("consent.granted").size(), n * rounds,
                        results.events("consent.granted").stream().map(e -> e.path("subject").asText()).distinct().count() == (long) n * rounds);
                List<Long> idle = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    idle.add(probe(client, bridge));
                }
                System.out.printf("  health at idle: p50 %d ms p99 %d ms max %d ms (200 probes)%n", pct(idle, 50), pct(idle, 99), pct(idle, 100));
                System.out.printf("  probes without an answer: %d %s%n", PROBE_FAILURES.size(), PROBE_FAILURES);
            } finally {
                trivial.stop(0);
            }
        }
    }

    /** Sends every request at once (a latch opens them together); returns each one's time to answer, in ms. */
    static List<Long> burst(HttpClient client, List<URI> uris, Runnable meanwhile, int expectedStatus) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Long>> answers = new ArrayList<>();
        for (URI uri : uris) {
            answers.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                    long started = System.nanoTime();
                    HttpResponse<String> answer = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (answer.statusCode() != expectedStatus) {
                        throw new IllegalStateException("answered " + answer.statusCode());
                    }
                    return (System.nanoTime() - started) / 1_000_000;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, SENDERS));
        }
        ScheduledExecutorService prober = Executors.newSingleThreadScheduledExecutor();
        if (meanwhile != null) {
            prober.scheduleAtFixedRate(meanwhile, 0, 100, TimeUnit.MILLISECONDS);
        }
        go.countDown();
        List<Long> millis = new ArrayList<>();
        for (CompletableFuture<Long> answer : answers) {
            millis.add(answer.get(2, TimeUnit.MINUTES));
        }
        // Not shutdownNow: it would interrupt a probe in flight, counted as one without an answer.
        prober.shutdown();
        prober.awaitTermination(15, TimeUnit.SECONDS);
        return millis;
    }

    static long probe(HttpClient client, BridgeUnderTest bridge) {
        long started = System.nanoTime();
        try {
            client.send(HttpRequest.newBuilder(bridge.managementUri("/observe/health")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (Exception e) {
            PROBE_FAILURES.add(e.getClass().getSimpleName() + ": " + e.getMessage());
            return 10_000;
        }
        return (System.nanoTime() - started) / 1_000_000;
    }

    static long pct(List<Long> values, int percentile) {
        if (values.isEmpty()) {
            return -1;
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    /** The floor: a trivial HTTP server answering a small page, started on a free port of this machine. */
    static HttpServer trivialServer() throws java.io.IOException {
        HttpServer trivial = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1000);
        trivial.setExecutor(Executors.newFixedThreadPool(20));
        byte[] page = "<html><body>ok</body></html>".getBytes(StandardCharsets.UTF_8);
        trivial.createContext("/", exchange -> {
            exchange.sendResponseHeaders(200, page.length);
            exchange.getResponseBody().write(page);
            exchange.close();
        });
        trivial.start();
        return trivial;
    }
}
