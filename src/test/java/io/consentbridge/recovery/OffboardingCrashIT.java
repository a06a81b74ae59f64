package io.consentbridge.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.demo.EmbeddedKafkaBroker;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.JarLauncher;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The packaged application killed with SIGKILL in the middle of an offboarding and started again
 * on the same ledger and consumer group: the restart finishes it (every grant and the credential
 * deleted, one tenant.offboarded), and no grant the ledger had recorded as deleted is deleted again.
 */
class OffboardingCrashIT {
    static final int MAILBOXES = 200;
    static final int KILL_AFTER_DELETES = 40;
    static final int GRANT_CONSUMERS = 8;
    static final String TENANT = "leavingco";
    static final String DELETE_PREFIX = "/v3/grants/";

    @Test
    void killedMidOffboardingThenRestartedFinishesItWithoutDeletingAnythingTwiceThatWasRecorded() throws Exception {
        Path work = Files.createTempDirectory("consent-bridge-offboard-crash");
        String id = UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> topics = new HashMap<>(Map.of(
                "ONBOARDING_TOPIC", "onboarding-" + id,
                "MAILBOX_TOPIC", "mailboxes-" + id,
                "CONSENT_URL_TOPIC", "consent-urls-" + id,
                "RESULT_TOPIC", "results-" + id,
                "DLQ_TOPIC", "dlq-" + id));
        topics.put("COMMAND_TOPIC", "commands-" + id);
        List<String> mailboxes = RecoveryKit.mailboxes("user", "leavingco.example.com", MAILBOXES);
        try (EmbeddedKafkaBroker kafka = new EmbeddedKafkaBroker(0, work.resolve("kafka"), 3);
             NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start()) {
            kafka.start();
            JarLauncher app = CrashRecoveryIT.app(work, kafka.bootstrapServers(), nylas.baseUri(), topics, "offboard-" + id);
            try (JarLauncher.Running first = app.start("run1.log");
                 TopicReader results = new TopicReaderAfterStart(first, kafka.bootstrapServers(), topics.get("RESULT_TOPIC")).reader;
                 TopicReader consentUrls = new TopicReader(kafka.bootstrapServers(), topics.get("CONSENT_URL_TOPIC"));
                 KafkaProducer<String, String> producer = RecoveryKit.producer(kafka.bootstrapServers())) {
                producer.send(new ProducerRecord<>(topics.get("ONBOARDING_TOPIC"), TENANT,
                        RecoveryKit.onboarding("req-leaving-1", TENANT, mailboxes))).get(60, TimeUnit.SECONDS);
                JsonNode issued = consentUrls.awaitEvent(e -> TENANT.equals(e.path("subject").asText()), Duration.ofMinutes(1));
                assertThat(RecoveryKit.consentVia(issued.path("data").path("consent_url").asText()).statusCode()).isEqualTo(200);
                await().atMost(Duration.ofMinutes(3)).until(() -> RecoveryKit.byEmail(results, "grant.created", TENANT).size() == MAILBOXES);
                String credentialId = RecoveryKit.events(results, "grant.created", TENANT).get(0).path("data").path("credential_id").asText();

                // Deletions slow enough that several are in flight at the kill.
                nylas.delay(Duration.ofMillis(40));
                producer.send(new ProducerRecord<>(topics.get("COMMAND_TOPIC"), TENANT,
                        "{\"request_id\":\"off-leaving-1\",\"tenant_id\":\"" + TENANT + "\",\"command\":\"offboard\"}")).get(60, TimeUnit.SECONDS);
                await().atMost(Duration.ofMinutes(2)).until(() -> deletes(nylas).size() >= KILL_AFTER_DELETES);
                first.kill();
                // Requests already on the wire reach the stand-in a moment later; the sender is gone, so only time tells.
                Thread.sleep(1000);
                Map<String, Long> beforeRestart = deletesPerGrant(nylas);
                Set<String> announcedBeforeRestart = RecoveryKit.events(results, "grant.deleted", TENANT).stream()
                        .map(e -> e.path("data").path("grant_id").asText()).collect(Collectors.toSet());

                try (JarLauncher.Running second = app.start("run2.log")) {
                    second.awaitHealthy(Duration.ofMinutes(2));
                    await().atMost(Duration.ofMinutes(3)).until(() -> !RecoveryKit.events(results, "tenant.offboarded", TENANT).isEmpty());
                    JsonNode offboarded = RecoveryKit.events(results, "tenant.offboarded", TENANT).get(0);
                    assertThat(offboarded.path("data").path("grants_deleted").asInt()).isEqualTo(MAILBOXES);
                    assertThat(offboarded.path("data").path("grants_failed").asInt()).isZero();
                    assertThat(nylas.grants()).as("grants left at Nylas").isEmpty();
                    assertThat(nylas.credential(credentialId)).as("the credential").isEmpty();
                    assertThat(nylas.requests("DELETE", "/v3/connectors/microsoft/creds/" + credentialId)).hasSize(1);

                    Map<String, Long> all = deletesPerGrant(nylas);
                    Set<String> twice = all.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).collect(Collectors.toSet());
                    // Deleted twice only if the first DELETE was on its way at the kill, before the ledger recorded it.
                    assertThat(twice).as("grants deleted twice").hasSizeLessThanOrEqualTo(GRANT_CONSUMERS)
                            .allSatisfy(g -> assertThat(beforeRestart).containsKey(g))
                            .noneMatch(announcedBeforeRestart::contains);
                    assertThat(all.values()).allMatch(n -> n <= 2);
                    // One grant.deleted per grant (the same event may be re-sent by the outbox, never a second one).
                    // Events the killed relay had not deleted come again from the next relay.
                    await().atMost(Duration.ofSeconds(90)).until(() -> RecoveryKit.byEmail(results, "grant.deleted", TENANT).size() == MAILBOXES);
                    Map<String, Set<String>> eventIds = RecoveryKit.events(results, "grant.deleted", TENANT).stream()
                            .collect(Collectors.groupingBy(e -> e.path("data").path("grant_id").asText(),
                                    Collectors.mapping(e -> e.path("id").asText(), Collectors.toSet())));
                    assertThat(eventIds).hasSize(MAILBOXES).allSatisfy((grant, ids) -> assertThat(ids).hasSize(1));
                    JsonNode status = RecoveryKit.JSON.readTree(RecoveryKit.get(app.managementUri("/onboarding/" + TENANT),
                            CrashRecoveryIT.ADMIN_TOKEN).body());
                    assertThat(status.path("consent_status").asText()).isEqualTo("offboarded");
                    System.out.printf("offboarding crash: %d DELETEs before the kill (%d grants announced deleted), %d grants deleted twice %s%n",
                            beforeRestart.values().stream().mapToLong(Long::longValue).sum(), announcedBeforeRestart.size(), twice.size(), twice);
                    second.stop(Duration.ofSeconds(60));
                }
            }
        }
        RecoveryKit.deleteTree(work);
    }

    static List<NylasStandIn.RecordedRequest> deletes(NylasStandIn nylas) {
        return nylas.requests().stream().filter(r -> r.method().equals("DELETE") && r.path().startsWith(DELETE_PREFIX)).toList();
    }

    static Map<String, Long> deletesPerGrant(NylasStandIn nylas) {
        return deletes(nylas).stream().collect(Collectors.groupingBy(r -> r.path().substring(DELETE_PREFIX.length()), Collectors.counting()));
    }

    /** A reader opened once the application is healthy: it creates its topics on start. */
    private static final class TopicReaderAfterStart {
        final TopicReader reader;

        TopicReaderAfterStart(JarLauncher.Running app, String bootstrap, String topic) throws InterruptedException {
            app.awaitHealthy(Duration.ofMinutes(2));
            reader = new TopicReader(bootstrap, topic);
        }
    }
}
