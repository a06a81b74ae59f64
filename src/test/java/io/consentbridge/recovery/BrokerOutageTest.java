package io.consentbridge.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.demo.EmbeddedKafkaBroker;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.consentbridge.recovery.RecoveryKit.byEmail;
import static io.consentbridge.recovery.RecoveryKit.events;
import static io.consentbridge.recovery.RecoveryKit.grantCalls;
import static io.consentbridge.recovery.RecoveryKit.millisSince;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kafka broker stops for 20 s in the middle of a run and comes back on the same port and data:
 * health says 503 meanwhile and 200 again afterwards, the run completes, and new requests work.
 * Uses its own broker (not SharedKafka), since stopping the shared one would break other tests.
 */
class BrokerOutageTest {
    static final int MAILBOXES = 40;
    static final Duration OUTAGE = Duration.ofSeconds(20);
    static final String TENANT = "outageco";
    static final String LATE_TENANT = "latecomer";

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    @Test
    void aRunCompletesAcrossATwentySecondBrokerOutage() throws Exception {
        Path kafkaDir = Files.createTempDirectory("consent-bridge-outage-kafka");
        cleanup.add(() -> RecoveryKit.deleteTree(kafkaDir));
        EmbeddedKafkaBroker[] broker = {new EmbeddedKafkaBroker(0, kafkaDir, 3)};
        cleanup.add(() -> broker[0].stop());
        broker[0].start();
        int kafkaPort = broker[0].port();
        String bootstrap = broker[0].bootstrapServers();

        NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start();
        cleanup.add(nylas);
        nylas.delay(Duration.ofMillis(50));

        BridgeUnderTest bridge = new BridgeUnderTest(nylas, bootstrap)
                // A low cap stretches the 40 grants over about 10 s, so the outage falls in the middle of the run.
                .with("nylas.max-requests-per-second", "4");
        cleanup.add(bridge);
        bridge.start();

        TopicReader consentUrls = new TopicReader(bootstrap, bridge.topic("consent-urls"));
        cleanup.add(consentUrls);
        TopicReader results = new TopicReader(bootstrap, bridge.topic("results"));
        cleanup.add(results);
        TopicReader dlq = new TopicReader(bootstrap, bridge.topic("dlq"));
        cleanup.add(dlq);
        KafkaProducer<String, String> producer = RecoveryKit.producer(bootstrap);
        cleanup.add(producer);

        List<String> mailboxes = RecoveryKit.mailboxes("user", "outageco.example.com", MAILBOXES);
        producer.send(new ProducerRecord<>(bridge.topic("onboarding"), TENANT,
                RecoveryKit.onboarding("req-outage-1", TENANT, mailboxes))).get(60, TimeUnit.SECONDS);
        JsonNode issued = consentUrls.awaitEvent(e -> TENANT.equals(e.path("subject").asText()), Duration.ofMinutes(1));
        assertThat(RecoveryKit.consentVia(issued.path("data").path("consent_url").asText()).statusCode()).isEqualTo(200);

        // Some grants done, most still to do.
        awaitUntil(() -> grantCalls(nylas).size() >= 5, Duration.ofMinutes(1), "first grant calls");
        int callsAtStop = grantCalls(nylas).size();
        int eventsAtStop = events(results, "grant.created", TENANT).size();

        long stopping = System.nanoTime();
        broker[0].stop();
        long stopped = System.nanoTime();
        long brokerStopMs = millisSince(stopping);

        // Health must turn 503 while the broker is away; poll it through the whole outage.
        URI health = bridge.managementUri("/observe/health");
        long firstUnhealthyMs = -1;
        int lastStatus = 0;
        List<Integer> statusesSeen = new ArrayList<>();
        while (millisSince(stopped) < OUTAGE.toMillis()) {
            lastStatus = RecoveryKit.status(health);
            if (statusesSeen.isEmpty() || statusesSeen.get(statusesSeen.size() - 1) != lastStatus) {
                statusesSeen.add(lastStatus);
            }
            if (lastStatus == 503 && firstUnhealthyMs < 0) {
                firstUnhealthyMs = millisSince(stopped);
            }
            Thread.sleep(200);
        }
        int callsDuringOutage = grantCalls(nylas).size() - callsAtStop;
        String healthDuringOutage = healthBody(health);
        assertThat(firstUnhealthyMs).as("health turned 503 during the outage (statuses seen: %s)", statusesSeen).isGreaterThanOrEqualTo(0);
        assertThat(lastStatus).as("health at the end of the outage: %s", healthDuringOutage).isEqualTo(503);

        // The broker comes back: a new instance on the same port and data directory.
        long restarting = System.nanoTime();
        broker[0] = new EmbeddedKafkaBroker(kafkaPort, kafkaDir, 3);
        broker[0].start();
        long brokerBack = System.nanoTime();
        long brokerStartMs = millisSince(restarting);
        assertThat(broker[0].bootstrapServers()).isEqualTo(bootstrap);

        awaitUntil(() -> RecoveryKit.status(health) == 200, Duration.ofMinutes(2), "health 200 after the broker returned");
        long healthyAgainMs = millisSince(brokerBack);

        // A new onboarding right after the broker returned gets its consent link.
        producer.send(new ProducerRecord<>(bridge.topic("onboarding"), LATE_TENANT,
                RecoveryKit.onboarding("req-outage-2", LATE_TENANT, List.of("first@latecomer.example.com")))).get(60, TimeUnit.SECONDS);
        JsonNode lateIssued = consentUrls.awaitEvent(e -> LATE_TENANT.equals(e.path("subject").asText()), Duration.ofMinutes(2));
        long lateLinkMs = millisSince(brokerBack);
        assertThat(lateIssued.path("type").asText()).isEqualTo("consent.url.issued");
        assertThat(lateIssued.path("data").path("consent_url").asText()).contains("/v3/connect/auth");

        // The interrupted run completes.
        awaitUntil(() -> byEmail(results, "grant.created", TENANT).size() >= MAILBOXES, Duration.ofMinutes(3),
                () -> "grant.created for " + byEmail(results, "grant.created", TENANT).size() + " of " + MAILBOXES
                        + " mailboxes; grant calls " + grantCalls(nylas).size());
        long allGrantedMs = millisSince(brokerBack);

        Map<String, List<JsonNode>> created = byEmail(results, "grant.created", TENANT);
        assertThat(created.keySet()).containsExactlyInAnyOrderElementsOf(mailboxes);
        assertThat(events(results, "grant.failed", TENANT)).as("grant.failed events").isEmpty();
        assertThat(events(results, "consent.granted", TENANT)).as("consent.granted").isNotEmpty();
        assertThat(dlq.records()).as("DLQ records").isEmpty();
        Map<String, String> grantIds = RecoveryKit.grantIdsByEmail(nylas);
        created.forEach((email, list) -> list.forEach(e ->
                assertThat(e.path("data").path("grant_id").asText()).as("grant id of %s", email).isEqualTo(grantIds.get(email))));
        HttpResponse<String> status = RecoveryKit.get(bridge.managementUri("/onboarding/" + TENANT), BridgeUnderTest.ADMIN_TOKEN);
        assertThat(status.statusCode()).isEqualTo(200);
        JsonNode counts = RecoveryKit.JSON.readTree(status.body()).path("mailboxes");
        assertThat(counts.path("granted").asLong()).as("ledger: %s", status.body()).isEqualTo(MAILBOXES);
        assertThat(RecoveryKit.status(health)).isEqualTo(200);

        Map<String, Integer> callsPerEmail = RecoveryKit.grantCallsByEmail(grantCalls(nylas));
        long calledTwice = callsPerEmail.values().stream().filter(n -> n > 1).count();
        int createdEvents = created.values().stream().mapToInt(List::size).sum();
        System.out.printf("%nBroker outage: %d mailboxes, broker down %d s (stop took %d ms, start %d ms)%n",
                MAILBOXES, OUTAGE.toSeconds(), brokerStopMs, brokerStartMs);
        System.out.printf("  at the stop: %d grant calls made, %d grant.created published; %d grant calls during the outage%n",
                callsAtStop, eventsAtStop, callsDuringOutage);
        System.out.printf("  health: first 503 %d ms after the broker stopped (statuses seen: %s)%n", firstUnhealthyMs, statusesSeen);
        System.out.printf("  broker back -> health 200: %d ms; -> late tenant's consent link: %d ms; -> all %d grant.created: %d ms%n",
                healthyAgainMs, lateLinkMs, MAILBOXES, allGrantedMs);
        System.out.printf("  grant calls %d (mailboxes called more than once: %d); grant.created events %d for %d mailboxes%n",
                grantCalls(nylas).size(), calledTwice, createdEvents, created.size());
        // No call was lost or refused, so nothing needed a second Nylas call.
        assertThat(calledTwice).as("mailboxes called more than once").isZero();
    }

    private static String healthBody(URI health) {
        try {
            return RecoveryKit.get(health, null).body();
        } catch (Exception e) {
            return "(" + e + ")";
        }
    }

    private static void awaitUntil(java.util.function.BooleanSupplier done, Duration timeout, String what) throws InterruptedException {
        awaitUntil(done, timeout, () -> what);
    }

    private static void awaitUntil(java.util.function.BooleanSupplier done, Duration timeout,
                                   java.util.function.Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for: " + what.get());
            }
            Thread.sleep(200);
        }
    }
}
