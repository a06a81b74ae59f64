package io.consentbridge.bench;

import com.sun.net.httpserver.HttpServer;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.shared.LocalPostgres;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.JarLauncher;
import io.consentbridge.support.SharedKafka;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployment at scale (issue 10): 1, 2 or 3 instances of the packaged bundle, each a process of its own
 * ({@code java -jar}, as {@link GrantCostBenchmark} runs it), on one PostgreSQL ledger and one Kafka broker,
 * against one Nylas stand-in that answers after a fixed latency and records when each request arrived. All
 * instances share one cap ({@code NYLAS_MAX_RPS}, 40 unless -Dbench.cap); the stand-in plays Nylas's own
 * limit too (-Dbench.nylas-limit, 50 a second as Nylas documents, 0 = none), so a second over it is answered 429.
 * <p>Scenarios, each a cell of the table:
 * <ul>
 *   <li>{@code fanout}: T tenants × M mailboxes ({@code -Dbench.shape=1x5000,200x25}): the onboarding
 *   requests, their consent links, then every consent callback at once; timed from the first callback to the
 *   moment the last grant.created is read. Grants per second, that rate against the cap, the stand-in's 429s,
 *   and the busiest sliding and fixed second of Nylas calls as the stand-in saw them arrive.</li>
 *   <li>{@code links}: N onboarding requests without mailboxes ({@code -Dbench.links=1000}), all sent at once;
 *   consent links per second, from the first request to the N-th link read.</li>
 *   <li>{@code callbacks}: C tenants onboarded, then their C consent callbacks at once, one connection each
 *   ({@code -Dbench.callbacks=200}, {@code -Dbench.callback-rounds=2}); p50/p99 answer time, next to a trivial
 *   HTTP server answered through the same client (the floor).</li>
 * </ul>
 * Cells are the product of {@code -Dbench.scenario=fanout,links,callbacks}, {@code -Dbench.instances=1,2,3},
 * {@code -Dbench.shape} and {@code -Dbench.latency-ms=50,300} (links: each latency; callbacks: the first), or
 * listed in {@code -Dbench.cells}: {@code instances/shape/latency} for a fan-out, {@code instances/links/latency},
 * {@code instances/callbacks}, e.g. {@code -Dbench.cells=1/1x5000/50,3/200x25/300,1/links/50,1/callbacks}.
 * Cells with the same number of instances run on one set of processes, one after the other.
 * <p>Prints numbers; asserts only counts (every mailbox granted exactly once, one event per grant, one link per
 * request, one consent.granted per callback), never a speed.
 * <p>Run: {@code mvn -q -o test -Pbenchmark -Dtest=ScaleBenchmark -Dsurefire.failIfNoSpecifiedTests=false}; needs
 * the packaged jar ({@code mvn -o -q package -DskipTests}) and PostgreSQL's server binaries.
 */
class ScaleBenchmark {
    static final Path JAR = Path.of(System.getProperty("bench.jar", "target/consent-bridge.jar")).toAbsolutePath();
    static final String CUSTOM_AUTH = "/v3/connect/custom";
    static final String CREDS = "/v3/connectors/microsoft/creds";

    final int cap = Integer.getInteger("bench.cap", 40);
    final int nylasLimit = Integer.getInteger("bench.nylas-limit", 50);
    final int links = Integer.getInteger("bench.links", 1000);
    final int callbacks = Integer.getInteger("bench.callbacks", 200);
    final int callbackRounds = Integer.getInteger("bench.callback-rounds", 2);
    final List<String> jvmOptions = Arrays.stream(System.getProperty("bench.jvm-options", "").trim().split("\\s+"))
            .filter(o -> !o.isEmpty()).toList();
    final String bootstrap = SharedKafka.bootstrapServers();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();
    final List<String> countProblems = new ArrayList<>();

    /** One cell of the table. */
    record Cell(int instances, String scenario, int tenants, int mailboxes, int latencyMs) {
        static Cell parse(String spec) {
            String[] part = spec.trim().split("/");
            int instances = Integer.parseInt(part[0]);
            return switch (part[1]) {
                case "links" -> new Cell(instances, "links", 0, 0, part.length > 2 ? Integer.parseInt(part[2]) : 50);
                case "callbacks" -> new Cell(instances, "callbacks", 0, 0, part.length > 2 ? Integer.parseInt(part[2]) : 50);
                default -> {
                    String[] shape = part[1].split("x");
                    yield new Cell(instances, "fanout", Integer.parseInt(shape[0]), Integer.parseInt(shape[1]), Integer.parseInt(part[2]));
                }
            };
        }

        String shape() {
            return scenario.equals("fanout") ? tenants + "x" + mailboxes : scenario;
        }
    }

    /** A fan-out's figures; the arrival windows count every Nylas API call the stand-in saw in the cell's window. */
    record FanOutResult(Cell cell, double wallSeconds, int grants, double grantsPerSecond, double standInGrantsPerSecond,
                        int calls, int rateLimited, ArrivalWindows windows, String perInstance, String callbackAnswers,
                        double machineBusy) {
    }

    record LinksResult(Cell cell, int requests, double wallSeconds, double linksPerSecond, int credentialCalls,
                       int rateLimited, ArrivalWindows windows, String perInstance, double machineBusy) {
    }

    record CallbackResult(Cell cell, int round, int callbacks, long floorP50, long floorP99, long p50, long p99, long max,
                          double machineBusy) {
    }

    final List<FanOutResult> fanOuts = new ArrayList<>();
    final List<LinksResult> linkRuns = new ArrayList<>();
    final List<CallbackResult> callbackRuns = new ArrayList<>();

    @Test
    void scale() throws Exception {
        assertThat(JAR).as("the packaged bundle; build it with: mvn -o -q package -DskipTests").exists();
        List<Cell> cells = cells();
        Map<Integer, List<Cell>> byInstances = cells.stream()
                .collect(Collectors.groupingBy(Cell::instances, LinkedHashMap::new, Collectors.toList()));
        System.out.printf("%nScale benchmark: cap %d/s (NYLAS_MAX_RPS), stand-in limit %s, cells %s, %d cores, started %s UTC%n",
                cap, nylasLimit > 0 ? nylasLimit + "/s" : "none", cells.stream().map(c -> c.instances() + "/" + c.shape()
                        + (c.scenario().equals("callbacks") ? "" : "/" + c.latencyMs())).toList(),
                Runtime.getRuntime().availableProcessors(), LocalTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS));
        Path jar = Files.createTempDirectory("scale-jar").resolve("consent-bridge.jar");
        Files.copy(JAR, jar, StandardCopyOption.REPLACE_EXISTING);
        try {
            for (Map.Entry<Integer, List<Cell>> group : byInstances.entrySet()) {
                try (Deployment deployment = new Deployment(group.getKey(), jar)) {
                    for (Cell cell : group.getValue()) {
                        switch (cell.scenario()) {
                            case "fanout" -> fanOuts.add(deployment.fanOut(cell));
                            case "links" -> linkRuns.add(deployment.links(cell));
                            default -> callbackRuns.addAll(deployment.callbacks(cell));
                        }
                    }
                }
            }
        } finally {
            GrantCostBenchmark.deleteQuietly(jar.getParent());
            print();
        }
        assertThat(countProblems).as("counts").isEmpty();
    }

    List<Cell> cells() {
        String listed = System.getProperty("bench.cells", "").trim();
        if (!listed.isEmpty()) {
            return Arrays.stream(listed.split(",")).map(Cell::parse).toList();
        }
        List<String> scenarios = list("bench.scenario", "fanout,links,callbacks");
        List<Integer> instances = list("bench.instances", "1,2,3").stream().map(Integer::parseInt).toList();
        List<String> shapes = list("bench.shape", "1x5000,200x25");
        List<Integer> latencies = list("bench.latency-ms", "50,300").stream().map(Integer::parseInt).toList();
        List<Cell> cells = new ArrayList<>();
        for (int n : instances) {
            if (scenarios.contains("fanout")) {
                for (String shape : shapes) {
                    for (int latency : latencies) {
                        cells.add(Cell.parse(n + "/" + shape + "/" + latency));
                    }
                }
            }
            if (scenarios.contains("links")) {
                latencies.forEach(latency -> cells.add(Cell.parse(n + "/links/" + latency)));
            }
            if (scenarios.contains("callbacks")) {
                cells.add(Cell.parse(n + "/callbacks/" + latencies.get(0)));
            }
        }
        return cells;
    }

    static List<String> list(String property, String defaults) {
        return Arrays.stream(System.getProperty(property, defaults).split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    void check(boolean ok, String problem) {
        if (!ok) {
            countProblems.add(problem);
            System.out.println("  COUNT PROBLEM: " + problem);
        }
    }

    // ---------------------------------------------------------------- one set of instances

    /** N processes of the bundle on one database, one set of topics, one consumer group and one stand-in. */
    final class Deployment implements AutoCloseable {
        final int size;
        final NylasStandIn nylas;
        final List<JarLauncher> launchers = new ArrayList<>();
        final List<JarLauncher.Running> running = new ArrayList<>();
        final Map<String, String> topics = new HashMap<>();
        final EventTally consentUrls;
        final EventTally results;
        final KafkaProducer<String, String> producer;
        boolean keepLogs;

        Deployment(int size, Path jar) throws Exception {
            this.size = size;
            // Enough handler threads that no request waits unrecorded: every grant worker of every instance at once.
            nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).handlerThreads(64).start();
            nylas.rateLimit(nylasLimit);
            String id = UUID.randomUUID().toString().substring(0, 6);
            String db = LocalPostgres.shared().createDatabase("scale_" + size + "_" + id);
            for (String name : List.of("ONBOARDING", "MAILBOX", "CONSENT_URL", "RESULT", "DLQ", "COMMAND")) {
                topics.put(name + "_TOPIC", "scale-" + name.toLowerCase().replace('_', '-') + "-" + id);
            }
            long started = System.nanoTime();
            for (int i = 1; i <= size; i++) {
                JarLauncher launcher = JarLauncher.inNewFolder("scale-bundle-" + i + "-").jar(jar)
                        .jvmOptions(jvmOptions)
                        .jvmOptions(List.of("-Dkafka.group-id=scale-" + id))
                        .env(topics)
                        .env("KAFKA_BROKERS", bootstrap)
                        .env("NYLAS_API_URI", nylas.baseUri())
                        .env("NYLAS_API_KEY", BridgeUnderTest.API_KEY)
                        .env("NYLAS_CLIENT_ID", BridgeUnderTest.CLIENT_ID)
                        .env("NYLAS_MAX_RPS", String.valueOf(cap))
                        .env("DB_URL", db)
                        .env("DB_USER", LocalPostgres.USER);
                launcher.env("CONSENT_REDIRECT_URI", launcher.httpUri("/nylas/admin-consent/callback").toString());
                launchers.add(launcher);
                running.add(launcher.start());
            }
            for (JarLauncher.Running instance : running) {
                instance.awaitHealthy(Duration.ofMinutes(3));
            }
            long healthyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            // The instances share one time line of turns in the ledger: nothing to wait for.
            System.out.printf("%n%d instance(s) healthy %d ms after the first start%n", size, healthyMs);
            consentUrls = new EventTally(bootstrap, topics.get("CONSENT_URL_TOPIC"));
            results = new EventTally(bootstrap, topics.get("RESULT_TOPIC"));
            producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.LINGER_MS_CONFIG, 5,
                    ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1_000_000,
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
        }

        // ------------------------------------------------------------ fan-out

        FanOutResult fanOut(Cell cell) throws Exception {
            String prefix = "f" + cell.tenants() + "x" + cell.mailboxes() + "-" + cell.latencyMs() + "-" + UUID.randomUUID().toString().substring(0, 4) + "-";
            int expected = cell.tenants() * cell.mailboxes();
            System.out.printf("%n[%s] %d instance(s), %d tenant(s) x %d mailboxes, stand-in latency %d ms%n",
                    LocalTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS), size, cell.tenants(), cell.mailboxes(), cell.latencyMs());
            nylas.delay(Duration.ofMillis(cell.latencyMs()));
            consentUrls.watch(prefix);
            results.watch(prefix);
            List<String> tenants = new ArrayList<>();
            for (int t = 0; t < cell.tenants(); t++) {
                String tenant = prefix + t;
                tenants.add(tenant);
                StringBuilder list = new StringBuilder();
                for (int m = 0; m < cell.mailboxes(); m++) {
                    list.append(m == 0 ? "" : ",").append("\"u").append(m).append('@').append(tenant).append(".example.com\"");
                }
                producer.send(new ProducerRecord<>(topics.get("ONBOARDING_TOPIC"), tenant,
                        "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant + "\",\"mailboxes\":[" + list + "]}"));
            }
            producer.flush();
            boolean linked = consentUrls.await("consent.url.issued", cell.tenants(), Duration.ofMinutes(5));
            check(linked, cell + ": consent links " + consentUrls.count("consent.url.issued") + " of " + cell.tenants());
            List<URI> callbackUris = tenants.stream().map(t -> callbackOf(consentUrls.consentUrl(t))).toList();

            Thread.sleep(1000); // the credential calls' last second is over before the window starts
            Map<Integer, Double> callsBefore = callsPerInstance();
            int limitedBefore = nylas.rateLimited();
            int grantCallsBefore = nylas.grantCalls();
            nylas.clearRecorded();
            long[] machineBefore = GrantCostBenchmark.machineTicks();
            long started = System.nanoTime();
            Instant windowStart = Instant.now();
            List<Long> answers = cell.tenants() == 1
                    ? List.of(answer(callbackUris.get(0)))
                    : CallbackBenchmark.burst(http, callbackUris, null, 200);
            // Generous: a fifth of the cap's pace, and never under 5 minutes.
            Duration timeout = Duration.ofSeconds(Math.max(300, expected * 5L / cap));
            boolean done = results.await("grant.created", expected, timeout);
            long endedAt = results.lastRead("grant.created");
            Instant windowEnd = Instant.now();
            long[] machineAfter = GrantCostBenchmark.machineTicks();
            Thread.sleep(2000); // anything more (a second grant for a mailbox) would show now
            double wall = (endedAt - started) / 1e9;

            int grants = results.count("grant.created");
            check(done, cell + ": grant.created " + grants + " of " + expected + " within " + timeout);
            check(grants == expected, cell + ": " + grants + " grant.created events for " + expected + " mailboxes");
            check(results.distinct("grant.created") == expected, cell + ": " + results.distinct("grant.created") + " mailboxes with grant.created of " + expected);
            check(results.repeated("grant.created") == 0, cell + ": " + results.repeated("grant.created") + " mailboxes with more than one grant.created");
            check(results.count("grant.failed") == 0, cell + ": " + results.count("grant.failed") + " grant.failed");
            check(results.count("consent.granted") == cell.tenants(), cell + ": consent.granted " + results.count("consent.granted") + " of " + cell.tenants());
            check(nylas.grantCalls() - grantCallsBefore == expected, cell + ": " + (nylas.grantCalls() - grantCallsBefore)
                    + " grants made at the stand-in for " + expected + " mailboxes");

            List<NylasStandIn.RecordedRequest> calls = apiCalls(windowStart, windowEnd);
            List<Instant> grantArrivals = calls.stream().filter(r -> r.path().equals(CUSTOM_AUTH)).map(NylasStandIn.RecordedRequest::receivedAt).sorted().toList();
            double standInRate = grantArrivals.size() < 2 ? 0
                    : (grantArrivals.size() - 1) / (Duration.between(grantArrivals.get(0), grantArrivals.get(grantArrivals.size() - 1)).toNanos() / 1e9);
            ArrivalWindows windows = ArrivalWindows.of(calls.stream().map(NylasStandIn.RecordedRequest::receivedAt).toList(), cap);
            String answerTimes = cell.tenants() == 1 ? answers.get(0) + " ms"
                    : "p50 " + CallbackBenchmark.pct(answers, 50) + " / p99 " + CallbackBenchmark.pct(answers, 99) + " ms";
            FanOutResult result = new FanOutResult(cell, wall, grants, grants / wall, standInRate, calls.size(),
                    nylas.rateLimited() - limitedBefore, windows, perInstance(callsBefore), answerTimes,
                    GrantCostBenchmark.busyShare(machineBefore, machineAfter));
            System.out.printf("  %d grants in %.1f s: %.1f/s (%.2f of the cap); at the stand-in %.1f/s from first to last grant call;"
                            + " %d calls, %d answered 429; busiest sliding second %d (at %s), busiest fixed second %d,"
                            + " fixed seconds over the cap %d of %d, sliding windows over the cap %d; calls per instance %s;"
                            + " callback answers %s; machine %.0f %% busy%n",
                    grants, wall, result.grantsPerSecond(), result.grantsPerSecond() / cap, standInRate, calls.size(), result.rateLimited(),
                    windows.peakSliding(), windows.peakSlidingAt(), windows.peakFixed(), windows.fixedOverCap(), windows.fixedSeconds(),
                    windows.slidingStartsOverCap(), result.perInstance(), answerTimes, result.machineBusy());
            System.out.println("  calls per fixed second: " + perSecond(calls));
            return result;
        }

        // ------------------------------------------------------------ consent links

        LinksResult links(Cell cell) throws Exception {
            String prefix = "l" + cell.latencyMs() + "-" + UUID.randomUUID().toString().substring(0, 4) + "-";
            System.out.printf("%n[%s] %d instance(s), %d onboarding requests without mailboxes, stand-in latency %d ms%n",
                    LocalTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS), size, links, cell.latencyMs());
            nylas.delay(Duration.ofMillis(cell.latencyMs()));
            consentUrls.watch(prefix);
            Map<Integer, Double> callsBefore = callsPerInstance();
            int limitedBefore = nylas.rateLimited();
            int credentialsBefore = nylas.credentialsCreated();
            nylas.clearRecorded();
            long[] machineBefore = GrantCostBenchmark.machineTicks();
            Instant windowStart = Instant.now();
            long started = System.nanoTime();
            for (int i = 0; i < links; i++) {
                String tenant = prefix + i;
                producer.send(new ProducerRecord<>(topics.get("ONBOARDING_TOPIC"), tenant,
                        "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant + "\"}"));
            }
            producer.flush();
            boolean done = consentUrls.await("consent.url.issued", links, Duration.ofSeconds(Math.max(300, links * 5L / cap)));
            long endedAt = consentUrls.lastRead("consent.url.issued");
            Instant windowEnd = Instant.now();
            long[] machineAfter = GrantCostBenchmark.machineTicks();
            Thread.sleep(2000);
            double wall = (endedAt - started) / 1e9;
            int issued = consentUrls.count("consent.url.issued");
            check(done && issued == links, cell + ": " + issued + " consent links for " + links + " requests");
            check(consentUrls.distinct("consent.url.issued") == links, cell + ": links for " + consentUrls.distinct("consent.url.issued") + " tenants of " + links);
            check(nylas.credentialsCreated() - credentialsBefore == links, cell + ": " + (nylas.credentialsCreated() - credentialsBefore)
                    + " credentials made for " + links + " tenants");
            List<NylasStandIn.RecordedRequest> calls = apiCalls(windowStart, windowEnd);
            ArrivalWindows windows = ArrivalWindows.of(calls.stream().map(NylasStandIn.RecordedRequest::receivedAt).toList(), cap);
            LinksResult result = new LinksResult(cell, links, wall, issued / wall,
                    (int) calls.stream().filter(r -> r.path().equals(CREDS)).count(), nylas.rateLimited() - limitedBefore, windows,
                    perInstance(callsBefore), GrantCostBenchmark.busyShare(machineBefore, machineAfter));
            System.out.printf("  %d links in %.1f s: %.1f/s (%.2f of the cap); %d credential calls, %d answered 429;"
                            + " busiest sliding second %d, busiest fixed second %d, fixed seconds over the cap %d of %d;"
                            + " calls per instance %s; machine %.0f %% busy%n",
                    issued, wall, result.linksPerSecond(), result.linksPerSecond() / cap, result.credentialCalls(), result.rateLimited(),
                    windows.peakSliding(), windows.peakFixed(), windows.fixedOverCap(), windows.fixedSeconds(), result.perInstance(), result.machineBusy());
            System.out.println("  calls per fixed second: " + perSecond(calls));
            return result;
        }

        // ------------------------------------------------------------ consent callbacks

        List<CallbackResult> callbacks(Cell cell) throws Exception {
            System.out.printf("%n[%s] %d instance(s), %d consent callbacks at once, %d round(s)%n",
                    LocalTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS), size, callbacks, callbackRounds);
            nylas.delay(Duration.ofMillis(cell.latencyMs()));
            HttpServer trivial = CallbackBenchmark.trivialServer();
            List<CallbackResult> out = new ArrayList<>();
            try {
                for (int round = 1; round <= callbackRounds; round++) {
                    String prefix = "c" + round + "-" + UUID.randomUUID().toString().substring(0, 4) + "-";
                    consentUrls.watch(prefix);
                    results.watch(prefix);
                    List<String> tenants = new ArrayList<>();
                    for (int i = 0; i < callbacks; i++) {
                        String tenant = prefix + i;
                        tenants.add(tenant);
                        producer.send(new ProducerRecord<>(topics.get("ONBOARDING_TOPIC"), tenant,
                                "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant + "\"}"));
                    }
                    producer.flush();
                    boolean linked = consentUrls.await("consent.url.issued", callbacks, Duration.ofMinutes(5));
                    check(linked, cell + " round " + round + ": consent links " + consentUrls.count("consent.url.issued") + " of " + callbacks);
                    List<URI> uris = tenants.stream().map(t -> callbackOf(consentUrls.consentUrl(t))).toList();
                    Thread.sleep(1000);
                    List<Long> floor = CallbackBenchmark.burst(http, Collections.nCopies(callbacks,
                            URI.create("http://127.0.0.1:" + trivial.getAddress().getPort() + "/cb")), null, 200);
                    long[] machineBefore = GrantCostBenchmark.machineTicks();
                    List<Long> answers = CallbackBenchmark.burst(http, uris, null, 200);
                    long[] machineAfter = GrantCostBenchmark.machineTicks();
                    boolean granted = results.await("consent.granted", callbacks, Duration.ofMinutes(2));
                    Thread.sleep(1500);
                    check(granted && results.count("consent.granted") == callbacks, cell + " round " + round + ": "
                            + results.count("consent.granted") + " consent.granted for " + callbacks + " callbacks");
                    check(results.distinct("consent.granted") == callbacks, cell + " round " + round + ": consent.granted for "
                            + results.distinct("consent.granted") + " tenants of " + callbacks);
                    CallbackResult result = new CallbackResult(cell, round, callbacks, CallbackBenchmark.pct(floor, 50), CallbackBenchmark.pct(floor, 99),
                            CallbackBenchmark.pct(answers, 50), CallbackBenchmark.pct(answers, 99), CallbackBenchmark.pct(answers, 100),
                            GrantCostBenchmark.busyShare(machineBefore, machineAfter));
                    System.out.printf("  round %d: callbacks p50 %d ms, p99 %d ms, max %d ms; trivial server p50 %d ms, p99 %d ms;"
                                    + " machine %.0f %% busy during the burst%n", round, result.p50(), result.p99(), result.max(),
                            result.floorP50(), result.floorP99(), result.machineBusy());
                    out.add(result);
                }
            } finally {
                trivial.stop(0);
            }
            return out;
        }

        // ------------------------------------------------------------ plumbing

        /** The stand-in's API requests (the browser's consent redirect left out) that arrived in the window. */
        List<NylasStandIn.RecordedRequest> apiCalls(Instant from, Instant to) {
            return nylas.requests().stream()
                    .filter(r -> !(r.method().equals("GET") && r.path().equals("/v3/connect/auth")))
                    .filter(r -> !r.receivedAt().isBefore(from) && !r.receivedAt().isAfter(to))
                    .toList();
        }

        /** Nylas answers counted by each instance's metrics (every endpoint and status). */
        Map<Integer, Double> callsPerInstance() {
            Map<Integer, Double> calls = new LinkedHashMap<>();
            for (int i = 0; i < launchers.size(); i++) {
                calls.put(i, metric(launchers.get(i), "consentbridge_nylas_calls_total", null));
            }
            return calls;
        }

        String perInstance(Map<Integer, Double> before) {
            Map<Integer, Double> after = callsPerInstance();
            return after.entrySet().stream().map(e -> fmt(e.getValue() - before.getOrDefault(e.getKey(), 0.0)))
                    .collect(Collectors.joining(" / "));
        }

        @Override
        public void close() throws Exception {
            producer.close(Duration.ofSeconds(10));
            consentUrls.close();
            results.close();
            for (int i = 0; i < running.size(); i++) {
                JarLauncher.Running instance = running.get(i);
                if (!instance.stop(Duration.ofSeconds(60))) {
                    instance.kill();
                }
                if (countProblems.isEmpty()) {
                    GrantCostBenchmark.deleteQuietly(launchers.get(i).workDir);
                } else {
                    System.out.println("Instance " + (i + 1) + "'s log is kept in " + launchers.get(i).workDir);
                }
            }
            nylas.close();
        }
    }

    /** The bundle's callback for a consent link, as Nylas redirects the admin's browser to it after consent. */
    static URI callbackOf(String consentUrl) {
        Map<String, String> query = new HashMap<>();
        for (String pair : URI.create(consentUrl).getRawQuery().split("&")) {
            int eq = pair.indexOf('=');
            query.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return URI.create(query.get("redirect_uri") + "?admin_consent=true&state="
                + URLEncoder.encode(query.get("state"), StandardCharsets.UTF_8));
    }

    long answer(URI callback) throws Exception {
        long started = System.nanoTime();
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(callback).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
        check(page.statusCode() == 200, "callback answered " + page.statusCode() + ": " + page.body());
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    }

    /** The sum of a metric's samples (those whose labels hold {@code labels}, when given); -1 when unreadable. */
    double metric(JarLauncher instance, String name, String labels) {
        try {
            String text = http.send(HttpRequest.newBuilder(instance.managementUri("/observe/metrics")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            return text.lines().filter(l -> (l.startsWith(name + " ") || l.startsWith(name + "{")) && (labels == null || l.contains(labels)))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
        } catch (Exception e) {
            return -1;
        }
    }

    /** Calls in each whole second of the window, in order (the first and last seconds are partial). */
    static String perSecond(List<NylasStandIn.RecordedRequest> calls) {
        Map<Long, Integer> bySecond = new TreeMap<>();
        calls.forEach(r -> bySecond.merge(r.receivedAt().getEpochSecond(), 1, Integer::sum));
        return bySecond.values().toString();
    }

    static String fmt(double value) {
        return value == Math.rint(value) ? String.valueOf((long) value) : String.format("%.1f", value);
    }

    // ---------------------------------------------------------------- the table

    void print() {
        System.out.printf("%nScale benchmark, cap %d/s for the whole deployment, stand-in limit %s; windows count every Nylas API call"
                + " the stand-in received (arrival times), from the first callback to the last grant.created read%n",
                cap, nylasLimit > 0 ? nylasLimit + "/s" : "none");
        if (!fanOuts.isEmpty()) {
            System.out.println("| instances | shape | latency ms | wall s | grants/s | efficiency | stand-in grants/s | 429s | peak sliding 1 s | peak fixed 1 s | fixed s over cap | calls per instance | callback answers | machine % |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (FanOutResult r : fanOuts) {
                System.out.printf("| %d | %s | %d | %.1f | %.1f | %.2f | %.1f | %d | %d | %d | %d of %d | %s | %s | %.0f |%n",
                        r.cell().instances(), r.cell().shape(), r.cell().latencyMs(), r.wallSeconds(), r.grantsPerSecond(),
                        r.grantsPerSecond() / cap, r.standInGrantsPerSecond(), r.rateLimited(), r.windows().peakSliding(),
                        r.windows().peakFixed(), r.windows().fixedOverCap(), r.windows().fixedSeconds(), r.perInstance(),
                        r.callbackAnswers(), r.machineBusy());
            }
        }
        if (!linkRuns.isEmpty()) {
            System.out.println("| instances | requests | latency ms | wall s | links/s | efficiency | 429s | peak sliding 1 s | peak fixed 1 s | fixed s over cap | calls per instance | machine % |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (LinksResult r : linkRuns) {
                System.out.printf("| %d | %d | %d | %.1f | %.1f | %.2f | %d | %d | %d | %d of %d | %s | %.0f |%n",
                        r.cell().instances(), r.requests(), r.cell().latencyMs(), r.wallSeconds(), r.linksPerSecond(), r.linksPerSecond() / cap,
                        r.rateLimited(), r.windows().peakSliding(), r.windows().peakFixed(), r.windows().fixedOverCap(),
                        r.windows().fixedSeconds(), r.perInstance(), r.machineBusy());
            }
        }
        if (!callbackRuns.isEmpty()) {
            System.out.println("| instances | callbacks | round | p50 ms | p99 ms | max ms | trivial server p50 / p99 ms | machine % |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            for (CallbackResult r : callbackRuns) {
                System.out.printf("| %d | %d | %d | %d | %d | %d | %d / %d | %.0f |%n", r.cell().instances(), r.callbacks(), r.round(),
                        r.p50(), r.p99(), r.max(), r.floorP50(), r.floorP99(), r.machineBusy());
            }
        }
        System.out.println(countProblems.isEmpty() ? "Counts: every check held." : "Count problems: " + countProblems);
    }
}
