package io.consentbridge.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.Settings;
import io.consentbridge.demo.EmbeddedKafkaBroker;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.JarLauncher;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.consentbridge.recovery.RecoveryKit.byEmail;
import static io.consentbridge.recovery.RecoveryKit.events;
import static io.consentbridge.recovery.RecoveryKit.grantCalls;
import static io.consentbridge.recovery.RecoveryKit.grantCallsByEmail;
import static io.consentbridge.recovery.RecoveryKit.millisSince;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The packaged application killed with SIGKILL in the middle of a 300-mailbox fan-out and started
 * again on the same ledger and consumer group: every mailbox ends with its grant, and only the calls
 * that were in flight at the kill reach Nylas twice. Kafka (in this JVM) and the Nylas stand-in
 * outlive the application.
 */
class CrashRecoveryIT {
    static final int MAILBOXES = 300;
    static final int KILL_AFTER_GRANT_CALLS = 60;
    /** grants.consumers in application.properties: one record at a time per consumer thread. */
    static final int GRANT_CONSUMERS = Integer.parseInt(Settings.effective("grants.consumers", Map.of()));
    /** instances.leave-after: the killed instance's relay lease and grant claims are free again after it. */
    static final Duration LEAVE_AFTER = Duration.ofSeconds(3);
    static final String TENANT = "crashco";
    static final String ADMIN_TOKEN = "crash-admin-7c1";

    @Test
    void killedMidFanOutThenRestartedGrantsEveryMailboxOnce() throws Exception {
        Path work = Files.createTempDirectory("consent-bridge-crash");
        String id = UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> topics = Map.of(
                "ONBOARDING_TOPIC", "onboarding-" + id,
                "MAILBOX_TOPIC", "mailboxes-" + id,
                "CONSENT_URL_TOPIC", "consent-urls-" + id,
                "RESULT_TOPIC", "results-" + id,
                "DLQ_TOPIC", "dlq-" + id);
        String groupId = "crash-" + id;
        List<String> mailboxes = RecoveryKit.mailboxes("user", "crashco.example.com", MAILBOXES);
        System.out.println("Crash recovery work folder (logs run1.log, run2.log; kept when the test fails): " + work);

        try (EmbeddedKafkaBroker kafka = new EmbeddedKafkaBroker(0, work.resolve("kafka"), 3);
             NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start()) {
            kafka.start();
            // Slow enough that the fan-out takes several seconds and calls are in flight at the kill.
            nylas.delay(Duration.ofMillis(30));

            JarLauncher app = app(work, kafka.bootstrapServers(), nylas.baseUri(), topics, groupId);
            JarLauncher.Running[] second = {null};
            try (JarLauncher.Running first = app.start("run1.log")) {
                run(app, first, second, kafka, nylas, topics, groupId, mailboxes);
            } finally {
                if (second[0] != null) {
                    second[0].close();
                }
            }
        }
        RecoveryKit.deleteTree(work);
    }

    private static void run(JarLauncher app, JarLauncher.Running first, JarLauncher.Running[] restartedProcess, EmbeddedKafkaBroker kafka, NylasStandIn nylas,
                            Map<String, String> topics, String groupId, List<String> mailboxes) throws Exception {
        // Readers only after the start: the application creates its topics.
        long firstStartMs = first.awaitHealthy(Duration.ofMinutes(2));
        try (TopicReader consentUrls = new TopicReader(kafka.bootstrapServers(), topics.get("CONSENT_URL_TOPIC"));
             TopicReader results = new TopicReader(kafka.bootstrapServers(), topics.get("RESULT_TOPIC"));
             TopicReader dlq = new TopicReader(kafka.bootstrapServers(), topics.get("DLQ_TOPIC"));
             KafkaProducer<String, String> producer = RecoveryKit.producer(kafka.bootstrapServers())) {
            producer.send(new ProducerRecord<>(topics.get("ONBOARDING_TOPIC"), TENANT,
                    RecoveryKit.onboarding("req-crash-1", TENANT, mailboxes))).get(60, TimeUnit.SECONDS);
            JsonNode issued = consentUrls.awaitEvent(e -> TENANT.equals(e.path("subject").asText()), Duration.ofMinutes(1));
            HttpResponse<String> page = RecoveryKit.consentVia(issued.path("data").path("consent_url").asText());
            assertThat(page.statusCode()).as("callback page: %s", page.body()).isEqualTo(200);
            long consented = System.nanoTime();

            // Kill without a graceful stop while the fan-out runs.
            awaitGrantCalls(nylas, KILL_AFTER_GRANT_CALLS, first, Duration.ofMinutes(2));
            int callsAtKill = grantCalls(nylas).size();
            long killed = System.nanoTime();
            first.kill();
            assertThat(first.process.isAlive()).as("killed").isFalse();
            // Requests already on the wire are recorded by the stand-in a moment later; the process that
            // sent them is gone, so there is nothing to wait for but time.
            Thread.sleep(1000);
            List<NylasStandIn.RecordedRequest> firstRunCalls = grantCalls(nylas);
            Set<String> calledInFirstRun = grantCallsByEmail(firstRunCalls).keySet();
            int eventsBeforeRestart = events(results, "grant.created", TENANT).size();

            JarLauncher.Running second = app.start("run2.log");
            restartedProcess[0] = second;
            long restarted = System.nanoTime();
            long secondStartMs = second.awaitHealthy(Duration.ofMinutes(2));
            awaitOrFail(() -> byEmail(results, "grant.created", TENANT).size() >= MAILBOXES, Duration.ofMinutes(3),
                    () -> missingGrants(mailboxes, results, firstRunCalls, nylas, app) + "; alive " + second.process.isAlive()
                            + "\n--- run2.log (tail) ---\n" + second.tail(40));
            long allGrantedAfterRestartMs = millisSince(restarted);
            long allGrantedAfterConsentMs = millisSince(consented);

            // Rows the killed relay had sent but not deleted are sent again by the next relay: wait past
            // the hand-over and until the result topic is quiet, so duplicate events are counted, not missed.
            awaitQuiet(results, killed, LEAVE_AFTER.plusSeconds(10));

            // ---- every mailbox has its grant, and nothing failed
            Map<String, List<JsonNode>> created = byEmail(results, "grant.created", TENANT);
            assertThat(created.keySet()).containsExactlyInAnyOrderElementsOf(mailboxes);
            assertThat(events(results, "grant.failed", TENANT)).as("grant.failed events").isEmpty();
            assertThat(dlq.records()).as("DLQ records").isEmpty();
            Map<String, String> nylasGrantIds = RecoveryKit.grantIdsByEmail(nylas);
            for (Map.Entry<String, List<JsonNode>> entry : created.entrySet()) {
                for (JsonNode event : entry.getValue()) {
                    assertThat(event.path("data").path("grant_id").asText()).as("grant id of %s", entry.getKey())
                            .isEqualTo(nylasGrantIds.get(entry.getKey()));
                    assertThat(event.path("data").path("request_id").asText()).isEqualTo("req-crash-1");
                }
            }
            assertThat(events(results, "consent.granted", TENANT)).as("consent.granted").isNotEmpty();
            HttpResponse<String> status = RecoveryKit.get(app.managementUri("/onboarding/" + TENANT), ADMIN_TOKEN);
            assertThat(status.statusCode()).isEqualTo(200);
            JsonNode counts = RecoveryKit.JSON.readTree(status.body()).path("mailboxes");
            assertThat(counts.path("granted").asLong()).as("ledger: %s", status.body()).isEqualTo(MAILBOXES);
            assertThat(counts.path("failed").asLong()).as("ledger: %s", status.body()).isZero();
            assertThat(counts.path("pending").asLong()).as("ledger: %s", status.body()).isZero();

            // ---- only calls in flight at the kill reached Nylas twice
            List<NylasStandIn.RecordedRequest> allCalls = grantCalls(nylas);
            Map<String, Integer> callsPerEmail = grantCallsByEmail(allCalls);
            assertThat(callsPerEmail.keySet()).containsExactlyInAnyOrderElementsOf(mailboxes);
            Set<String> calledTwice = callsPerEmail.entrySet().stream().filter(e -> e.getValue() > 1)
                    .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
            int maxCallsForOneEmail = callsPerEmail.values().stream().mapToInt(Integer::intValue).max().orElse(0);

            // ---- repeated grant.created: the same CloudEvent again (outbox re-send) or a second grant recorded
            Set<String> sameEventAgain = new TreeSet<>();
            Set<String> secondGrantEvent = new TreeSet<>();
            created.forEach((email, list) -> {
                Set<String> ids = list.stream().map(e -> e.path("id").asText()).collect(Collectors.toSet());
                if (ids.size() < list.size()) {
                    sameEventAgain.add(email);
                }
                if (ids.size() > 1) {
                    secondGrantEvent.add(email);
                }
            });
            int createdEvents = created.values().stream().mapToInt(List::size).sum();

            System.out.printf("%nCrash recovery: %d mailboxes, Nylas latency 30 ms, %d grant consumers%n", MAILBOXES, GRANT_CONSUMERS);
            System.out.printf("  java -jar to health 200: first start %d ms, restart %d ms%n", firstStartMs, secondStartMs);
            System.out.printf("  grant calls: %d when the kill was decided, %d recorded by the stand-in after the kill, %d in total%n",
                    callsAtKill, firstRunCalls.size(), allCalls.size());
            System.out.printf("  grant.created events published before the restart: %d%n", eventsBeforeRestart);
            System.out.printf("  mailboxes Nylas was called for more than once: %d %s (max calls for one mailbox: %d)%n",
                    calledTwice.size(), calledTwice, maxCallsForOneEmail);
            System.out.printf("  grant.created events: %d for %d mailboxes; same event re-sent for %d %s; a second grant event for %d %s%n",
                    createdEvents, created.size(), sameEventAgain.size(), sameEventAgain, secondGrantEvent.size(), secondGrantEvent);
            System.out.printf("  restart -> all %d granted: %d ms (consent -> all granted: %d ms)%n",
                    MAILBOXES, allGrantedAfterRestartMs, allGrantedAfterConsentMs);

            // A mailbox is called twice only if its first call went out before the kill, at most once
            // per consumer thread (each works on one record at a time).
            assertThat(calledInFirstRun).as("mailboxes called twice had a call before the kill").containsAll(calledTwice);
            assertThat(maxCallsForOneEmail).as("calls for one mailbox").isLessThanOrEqualTo(2);
            assertThat(calledTwice).as("mailboxes called twice (in flight at the kill)").hasSizeLessThanOrEqualTo(GRANT_CONSUMERS);
            // A second, different grant.created only for a mailbox that Nylas saw twice.
            assertThat(calledTwice).as("mailboxes with two different grant.created events").containsAll(secondGrantEvent);

            // ---- the JVM system property reached the placeholder (kafka.group-id)
            assertOverridesApplied(kafka.bootstrapServers(), groupId);

            assertThat(second.stop(Duration.ofSeconds(60))).as("stopped on SIGTERM").isTrue();
        }
    }

    /** Which mailboxes have no grant.created, what Nylas saw for them, and what the ledger says. */
    private static String missingGrants(List<String> mailboxes, TopicReader results, List<NylasStandIn.RecordedRequest> firstRunCalls,
                                        NylasStandIn nylas, JarLauncher app) {
        Set<String> granted = byEmail(results, "grant.created", TENANT).keySet();
        Map<String, Integer> before = grantCallsByEmail(firstRunCalls);
        Map<String, Integer> all = grantCallsByEmail(grantCalls(nylas));
        String missing = mailboxes.stream().filter(m -> !granted.contains(m))
                .map(m -> m + " (Nylas calls before the kill " + before.getOrDefault(m, 0) + ", in all " + all.getOrDefault(m, 0) + ")")
                .collect(Collectors.joining(", "));
        String ledger;
        try {
            ledger = RecoveryKit.get(app.managementUri("/onboarding/" + TENANT), ADMIN_TOKEN).body();
        } catch (Exception e) {
            ledger = "(" + e + ")";
        }
        return "grant.created for " + granted.size() + " of " + mailboxes.size() + " mailboxes; grant calls " + all.values().stream()
                .mapToInt(Integer::intValue).sum() + "; without a grant: " + missing + "; ledger: " + ledger;
    }

    private static void assertOverridesApplied(String bootstrap, String groupId) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            Set<String> groups = admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS).stream()
                    .map(ConsumerGroupListing::groupId).collect(Collectors.toSet());
            assertThat(groups).as("-Dkafka.group-id applied").contains(groupId).doesNotContain("consent-bridge");
        }
    }

    private static void awaitGrantCalls(NylasStandIn nylas, int calls, JarLauncher.Running process, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (grantCalls(nylas).size() < calls) {
            if (!process.process.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("only " + grantCalls(nylas).size() + " grant calls; alive " + process.process.isAlive()
                        + "\n--- run1.log (tail) ---\n" + process.tail(60));
            }
            Thread.sleep(5);
        }
    }

    /** Waits until {@code since + atLeast} has passed and no record arrived on the reader for 3 s. */
    private static void awaitQuiet(TopicReader reader, long since, Duration atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        int seen = -1;
        long quietSince = System.nanoTime();
        while (System.nanoTime() < deadline) {
            int now = reader.records().size();
            if (now != seen) {
                seen = now;
                quietSince = System.nanoTime();
            }
            if (millisSince(since) >= atLeast.toMillis() && millisSince(quietSince) >= 3000) {
                return;
            }
            Thread.sleep(200);
        }
    }

    private static void awaitOrFail(java.util.function.BooleanSupplier done, Duration timeout,
                                    java.util.function.Supplier<String> why) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(why.get());
            }
            Thread.sleep(200);
        }
    }

    /** The packaged application; both runs use the same command, ledger and group. */
    static JarLauncher app(Path work, String brokers, String nylasUri, Map<String, String> topics, String groupId) {
        JarLauncher jar = new JarLauncher(work)
                // Settings without an environment variable: JVM system properties override application.properties.
                .jvmOptions(List.of("-Dkafka.group-id=" + groupId))
                .env(topics)
                .env("KAFKA_BROKERS", brokers)
                .env("NYLAS_API_URI", nylasUri)
                .env("NYLAS_API_KEY", BridgeUnderTest.API_KEY)
                .env("NYLAS_CLIENT_ID", BridgeUnderTest.CLIENT_ID)
                .env("DB_URL", "jdbc:h2:file:" + work.resolve("ledger").toAbsolutePath())
                .env("ADMIN_TOKEN", ADMIN_TOKEN);
        return jar.env("CONSENT_REDIRECT_URI", jar.httpUri("/nylas/admin-consent/callback").toString());
    }
}
