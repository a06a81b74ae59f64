package io.consentbridge.faults;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Contract §2: "No outbound event, log line or ledger row ever holds a client_secret or the Nylas
 * API key". One full run that handles secrets every way it can (a happy onboarding with retries on
 * the secret-bearing call, a schema rejection, a non-JSON record, a credential Nylas refuses), then
 * every sink is searched: all log output, every topic the bundle writes, and the ledger database.
 */
class SecretsNeverLeakTest {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String CREDS = "/v3/connectors/microsoft/creds";
    static final String CUSTOM = "/v3/connect/custom";

    static final String HAPPY_SECRET = "SECRET-azure-7f3k";
    static final String BAD_INPUT_SECRET = "SECRET-bad-input-9q";
    static final String RAW_SECRET = "SECRET-raw-2z";
    static final String NYLAS_400_SECRET = "SECRET-nylas-400-5m";
    static final String ROTATED_SECRET = "SECRET-rotated-4h";
    static final String REFUSED_ROTATION_SECRET = "SECRET-rotation-refused-6v";
    static final String INVALID_COMMAND_SECRET = "SECRET-command-invalid-1c";
    static final String WEBHOOK_SECRET = "SECRET-webhook-8n";
    static final List<String> SECRETS = List.of(BridgeUnderTest.API_KEY, HAPPY_SECRET, BAD_INPUT_SECRET, RAW_SECRET, NYLAS_400_SECRET,
            ROTATED_SECRET, REFUSED_ROTATION_SECRET, INVALID_COMMAND_SECRET, WEBHOOK_SECRET);

    /** Broken JSON whose secret value is not a well-formed JSON string: checked separately (see the test). */
    static final String UNQUOTED_SECRET = "SECRET_raw_unquoted_8w";
    static final String SINGLE_QUOTED_SECRET = "SECRET-single-quoted-3p";

    /** Loggers that log4j2-test.xml quietens but the shipped log4j2.xml leaves at INFO. */
    static final List<String> QUIET_IN_TESTS_ONLY = List.of("org.apache.camel.main", "org.apache.camel.impl.engine");

    static final StringWriter logs = new StringWriter();
    static Appender capture;

    /** Registered before the bridge, so that its start-up is in the captured logs too. */
    @RegisterExtension
    @Order(1)
    static final BeforeAllCallback captureLogsFromTheStart = context -> capture = attachLogCapture();

    @RegisterExtension
    @Order(2)
    static final BridgeUnderTest bridge = new BridgeUnderTest().with("nylas.webhook-secret", WEBHOOK_SECRET);
    /** Readers start from the beginning of each topic, so nothing written to any of them is missed. */
    static final Map<String, TopicReader> topics = new LinkedHashMap<>();

    static {
        for (String name : List.of("consent-urls", "results", "dlq")) {
            topics.put(name, bridge.reader(name));
        }
    }

    @BeforeAll
    static void fullRun() {
        try {
            happyOnboardingThroughRetries();
            rejectedRecords();
            credentialThatNylasRefuses();
            secretRotations();
            signedNotifications();
            // Logs written while stopping count too, and the ledger can only be opened once the bridge has let go of it.
            bridge.stop();
        } finally {
            detachLogCapture(capture);
            capture = null;
        }
    }

    @AfterAll
    static void stopCapturing() {
        // Only when the bridge did not start (fullRun did not run).
        if (capture != null) {
            detachLogCapture(capture);
        }
    }

    // ---- the run -----------------------------------------------------------------------------

    /** Client secret given; the credential call (which carries it) and the grant calls go through 429 and 500 first. */
    static void happyOnboardingThroughRetries() {
        bridge.nylas.failNext(CREDS, 1, 429);
        bridge.nylas.failNext(CREDS, 1, 500);
        bridge.send("onboarding", "leak-happy", """
                {"request_id":"leak-happy-1","tenant_id":"leak-happy","azure_tenant":"leak-happy.onmicrosoft.com",
                 "client_id":"azure-app-leak","client_secret":"%s","admin_email":"admin@leak-happy.example.com",
                 "mailboxes":["a@leak-happy.example.com","b@leak-happy.example.com","c@leak-happy.example.com"]}"""
                .formatted(HAPPY_SECRET));
        JsonNode issued = topics.get("consent-urls").awaitEvent(e -> "leak-happy".equals(e.path("subject").asText()), WAIT);
        // The secret really went to Nylas (so it was in the bridge's hands), on the third attempt.
        assertThat(bridge.nylas.requests("POST", CREDS)).hasSize(3)
                .allSatisfy(r -> assertThat(r.json().path("credential_data").path("client_secret").asText()).isEqualTo(HAPPY_SECRET));

        bridge.nylas.failNext(CUSTOM, 2, 429);
        bridge.nylas.failNext(CUSTOM, 1, 500);
        assertThat(bridge.consentVia(issued.path("data").path("consent_url").asText()).statusCode()).isEqualTo(200);
        await().atMost(WAIT).until(() -> topics.get("results").events("grant.created").stream()
                .filter(e -> "leak-happy".equals(e.path("subject").asText())).count() == 3);
        assertThat(bridge.nylas.requests("POST", CUSTOM)).hasSize(6);
    }

    /** Input the bridge refuses itself: invalid JSON by schema, text that is not JSON, and broken JSON with odd quoting. */
    static void rejectedRecords() {
        bridge.send("onboarding", "leak-bad", """
                {"request_id":"leak-bad-1","tenant_id":"leak-bad","client_id":"azure-app-bad","client_secret":"%s",
                 "unexpected_field":true}""".formatted(BAD_INPUT_SECRET));
        bridge.send("onboarding", "leak-raw", """
                {"request_id":"leak-raw-1","tenant_id":"leak-raw","client_id":"azure-app-raw","client_secret": "%s", oops"""
                .formatted(RAW_SECRET));
        bridge.send("onboarding", "leak-unquoted", """
                {"request_id":"leak-unquoted-1","tenant_id":"leak-unquoted","client_secret": %s}""".formatted(UNQUOTED_SECRET));
        bridge.send("onboarding", "leak-single-quoted", """
                {'request_id':'leak-single-quoted-1','client_secret':'%s'}""".formatted(SINGLE_QUOTED_SECRET));
        await().atMost(WAIT).until(() -> topics.get("dlq").events("request.rejected").size() >= 4);
    }

    static void credentialThatNylasRefuses() {
        bridge.nylas.failWhen(r -> r.path().equals(CREDS)
                && NYLAS_400_SECRET.equals(r.json().path("credential_data").path("client_secret").asText()), 400);
        bridge.send("onboarding", "leak-400", """
                {"request_id":"leak-400-1","tenant_id":"leak-400","client_id":"azure-app-400","client_secret":"%s"}"""
                .formatted(NYLAS_400_SECRET));
        topics.get("dlq").awaitEvent(e -> "leak-400".equals(e.path("subject").asText()), WAIT);
        // Refused exactly as scripted, once: a 400 is not retried.
        assertThat(bridge.nylas.requests("POST", CREDS))
                .filteredOn(r -> r.json().path("name").asText().startsWith("consent-bridge/leak-400/")).hasSize(1);
    }

    /**
     * rotate_secret commands: one carried out through a 429 and a 500 on the PATCH (which carries the
     * new secret), one refused by the ledger (the tenant has no credential), one invalid by schema.
     */
    static void secretRotations() {
        bridge.nylas.failNext(CREDS + "/", 1, 429);
        bridge.nylas.failNext(CREDS + "/", 1, 500);
        bridge.send("commands", "leak-happy", """
                {"request_id":"leak-rotate-1","tenant_id":"leak-happy","command":"rotate_secret","client_id":"azure-app-leak-2",
                 "client_secret":"%s","client_secret_expires_at":"2028-01-01T00:00:00Z"}""".formatted(ROTATED_SECRET));
        topics.get("results").awaitEvent(e -> "credential.rotated".equals(e.path("type").asText()), WAIT);
        assertThat(bridge.nylas.requests().stream().filter(r -> r.method().equals("PATCH")).toList()).hasSize(3)
                .allSatisfy(r -> assertThat(r.json().path("credential_data").path("client_secret").asText()).isEqualTo(ROTATED_SECRET));
        bridge.send("commands", "leak-400", """
                {"request_id":"leak-rotate-2","tenant_id":"leak-400","command":"rotate_secret","client_id":"azure-app-400",
                 "client_secret":"%s"}""".formatted(REFUSED_ROTATION_SECRET));
        bridge.send("commands", "leak-happy", """
                {"request_id":"leak-rotate-3","tenant_id":"leak-happy","command":"rotate_secret","client_secret":"%s"}"""
                .formatted(INVALID_COMMAND_SECRET));
        await().atMost(WAIT).until(() -> topics.get("dlq").events("request.rejected").stream()
                .filter(e -> e.path("data").path("request_id").asText().startsWith("leak-rotate-")).count() == 2);
    }

    /** A notification signed with the webhook secret (taken), and one signed with something else (refused, logged). */
    static void signedNotifications() {
        JsonNode grant = topics.get("results").events("grant.created").get(0);
        String expiry = io.consentbridge.support.Notifications.expired(grant.path("data").path("grant_id").asText(),
                grant.path("data").path("email").asText());
        assertThat(io.consentbridge.support.Notifications.postSigned(bridge, expiry, "not-the-secret").statusCode()).isEqualTo(401);
        assertThat(io.consentbridge.support.Notifications.postSigned(bridge, expiry, WEBHOOK_SECRET).statusCode()).isEqualTo(200);
        topics.get("results").awaitEvent(e -> "grant.expired".equals(e.path("type").asText()), WAIT);
    }

    // ---- the sinks ---------------------------------------------------------------------------

    @Test
    void noLogLineHoldsASecret() {
        String text = logs.toString();
        // The capture really saw the run, retries included.
        assertThat(text).contains("Consent link issued for tenant leak-happy").contains("Rejected request").contains("On delivery attempt");
        assertThat(text).doesNotContain(SECRETS);
    }

    @Test
    void noRecordOnAnyTopicHoldsASecret() {
        for (Map.Entry<String, TopicReader> topic : topics.entrySet()) {
            String text = recordsAsText(topic.getValue());
            assertThat(text).as("records on %s", topic.getKey()).doesNotContain(SECRETS);
        }
        // Each topic was written to, so an empty topic cannot pass by accident.
        assertThat(topics.values()).allSatisfy(t -> assertThat(t.records()).isNotEmpty());
    }

    @Test
    void noLedgerRowHoldsASecret() throws Exception {
        String text = ledgerAsText();
        assertThat(text).contains("leak-happy").contains("a@leak-happy.example.com");
        assertThat(text).doesNotContain(SECRETS);
    }

    @Test
    void theLedgerFileHoldsNoSecretEvenInDeletedRows() throws Exception {
        // Outbox rows are deleted once relayed; the file itself must not keep a secret either.
        Path file = Path.of(bridge.settings.get("ledger.url").substring("jdbc:h2:file:".length()) + ".mv.db");
        String bytes = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        assertThat(bytes).contains("leak-happy");
        assertThat(bytes).doesNotContain(SECRETS);
    }

    @Test
    void theDlqShowsSecretsAsStars() {
        JsonNode bad = dlqEventOf("leak-bad");
        assertThat(bad.path("data").path("reason").asText()).isEqualTo("invalid onboarding request");
        assertThat(bad.path("data").path("original").path("client_secret").asText()).isEqualTo("***");
        assertThat(bad.path("data").path("original").path("client_id").asText()).isEqualTo("azure-app-bad");

        JsonNode refused = dlqEventOf("leak-400");
        assertThat(refused.path("data").path("reason").asText()).isEqualTo("nylas rejected the credential");
        assertThat(refused.path("data").path("original").path("client_secret").asText()).isEqualTo("***");

        assertThat(topics.get("dlq").events("request.rejected").stream()
                .filter(e -> e.path("data").path("request_id").asText().startsWith("leak-rotate-")).toList()).hasSize(2)
                .allSatisfy(e -> assertThat(e.path("data").path("original").path("client_secret").asText()).isEqualTo("***"));

        // Not JSON and naming a secret: the raw text is withheld, since a secret in broken input cannot be masked reliably.
        List<JsonNode> raw = topics.get("dlq").events("request.rejected").stream()
                .filter(e -> e.path("data").path("reason").asText().equals("not valid JSON")).toList();
        assertThat(raw).isNotEmpty().allSatisfy(e -> assertThat(e.path("data").path("original").asText()).contains("withheld"));
    }

    @Test
    void aSecretInBrokenJsonIsMaskedHoweverItIsQuoted() {
        List<String> sinks = new ArrayList<>();
        sinks.add(logs.toString());
        topics.values().forEach(t -> sinks.add(recordsAsText(t)));
        assertThat(sinks).allSatisfy(text -> assertThat(text).doesNotContain(UNQUOTED_SECRET, SINGLE_QUOTED_SECRET));
    }

    // ---- helpers -----------------------------------------------------------------------------

    /** Every key, value and header of every record, as text. */
    static String recordsAsText(TopicReader reader) {
        StringBuilder text = new StringBuilder();
        for (ConsumerRecord<String, String> record : reader.records()) {
            text.append(record.key()).append('\t').append(record.value()).append('\n');
            for (Header header : record.headers()) {
                text.append(header.key()).append('=')
                        .append(header.value() == null ? "" : new String(header.value(), StandardCharsets.UTF_8)).append('\n');
            }
        }
        return text.toString();
    }

    static JsonNode dlqEventOf(String tenant) {
        return topics.get("dlq").events("request.rejected").stream().filter(e -> tenant.equals(e.path("subject").asText()))
                .findFirst().orElseThrow(() -> new AssertionError("no DLQ event for " + tenant));
    }

    /** Every column of every row of every table of the ledger, read after the bridge has stopped. */
    static String ledgerAsText() throws Exception {
        String url = bridge.settings.get("ledger.url") + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH";
        StringBuilder text = new StringBuilder();
        try (Connection c = DriverManager.getConnection(url)) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = c.getMetaData().getTables(null, "public", "%", new String[] {"TABLE", "BASE TABLE"})) {
                while (rs.next()) {
                    tables.add(rs.getString("TABLE_NAME"));
                }
            }
            assertThat(tables).contains("tenant", "inbound_request", "mailbox", "outbox");
            for (String table : tables) {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select * from \"" + table + "\"")) {
                    ResultSetMetaData meta = rs.getMetaData();
                    while (rs.next()) {
                        text.append(table);
                        for (int i = 1; i <= meta.getColumnCount(); i++) {
                            text.append('\t').append(rs.getString(i));
                        }
                        text.append('\n');
                    }
                }
            }
        }
        return text.toString();
    }

    /** Adds a writer appender to the root logger, and opens up the loggers only the test configuration quietens. */
    static Appender attachLogCapture() {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        PatternLayout layout = PatternLayout.newBuilder().withConfiguration(config)
                .withPattern("%d{HH:mm:ss.SSS} %-5level [%t] %c - %msg %X%n%throwable").build();
        Appender appender = WriterAppender.newBuilder().setName("secrets-never-leak").setTarget(logs)
                .setLayout(layout).setConfiguration(config).build();
        appender.start();
        config.addAppender(appender);
        config.getRootLogger().addAppender(appender, null, null);
        context.updateLoggers();
        QUIET_IN_TESTS_ONLY.forEach(name -> Configurator.setLevel(name, Level.INFO));
        return appender;
    }

    static void detachLogCapture(Appender appender) {
        QUIET_IN_TESTS_ONLY.forEach(name -> Configurator.setLevel(name, Level.WARN));
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        config.getRootLogger().removeAppender(appender.getName());
        context.updateLoggers();
        appender.stop();
    }
}
