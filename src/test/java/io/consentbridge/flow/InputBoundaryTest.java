package io.consentbridge.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.ops.LogLinesTest;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The input boundary through a real broker, the real HTTP server and the ledger (issue "every real
 * address in, every bad input out on its own, nothing stuck"): each test holds one finding.
 */
class InputBoundaryTest {
    static final Duration WAIT = Duration.ofSeconds(60);
    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");
    static final TopicReader dlq = bridge.reader("dlq");

    static String state(String tenant) {
        JsonNode issued = consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
        return OnboardingFlowTest.query(URI.create(issued.path("data").path("consent_url").asText())).get("state");
    }

    static List<JsonNode> resultsOf(String tenant, String type) {
        return results.events(type).stream().filter(e -> tenant.equals(e.path("subject").asText())).toList();
    }

    @Test
    void validAddressesAtAnyDomainAreGrantedAndEachInvalidOneGetsItsOwnOutcomeAtOnce() {
        String tenant = "mixed";
        bridge.send("onboarding", tenant, "{\"request_id\":\"req-mixed\",\"tenant_id\":\"mixed\",\"mailboxes\":["
                + "\"Ada@Contoso.example\",\"ada@contoso.example\",\"bob@fabrikam.technology\",\"chloé@bücher.de\","
                + "\"not an address\",\"x@y\",\"x@y\"]}");
        String state = state(tenant);
        // The invalid strings are answered before consent, once each, as given.
        await().atMost(WAIT).until(() -> resultsOf(tenant, "grant.failed").size() >= 2);
        assertThat(resultsOf(tenant, "grant.failed")).extracting(e -> e.path("data").path("email").asText())
                .containsExactlyInAnyOrder("not an address", "x@y");
        assertThat(resultsOf(tenant, "grant.failed")).allSatisfy(e -> {
            assertThat(e.path("data").path("error").path("type").asText()).isEqualTo("invalid_mailbox");
            assertThat(e.path("data").path("request_id").asText()).isEqualTo("req-mixed");
        });

        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + state), null).statusCode()).isEqualTo(200);
        JsonNode granted = results.awaitEvent(e -> "consent.granted".equals(e.path("type").asText()) && tenant.equals(e.path("subject").asText()), WAIT);
        assertThat(granted.path("data").path("mailbox_count").asInt()).isEqualTo(3);
        await().atMost(WAIT).until(() -> resultsOf(tenant, "grant.created").size() >= 3);

        // Then a mailbox request with the same mix: one outcome for each distinct string.
        bridge.send("mailboxes", tenant, "{\"request_id\":\"mbx-mixed\",\"tenant_id\":\"mixed\",\"mailboxes\":["
                + "\"Linus@Contoso.Example\",\"@contoso.example\",\"grace@xn--bcher-kva.de\"]}");
        await().atMost(WAIT).until(() -> resultsOf(tenant, "grant.created").size() >= 5 && resultsOf(tenant, "grant.failed").size() >= 3);
        bridge.awaitIdle();
        assertThat(resultsOf(tenant, "grant.created")).extracting(e -> e.path("data").path("email").asText())
                .containsExactlyInAnyOrder("ada@contoso.example", "bob@fabrikam.technology", "chloé@bücher.de",
                        "linus@contoso.example", "grace@xn--bcher-kva.de");
        assertThat(resultsOf(tenant, "grant.failed")).hasSize(3);
        // Nylas saw the valid addresses only, once each.
        assertThat(bridge.nylas.requests("POST", "/v3/connect/custom")).extracting(r -> r.json().path("settings").path("email_address").asText())
                .filteredOn(email -> email.contains("contoso.example") || email.contains("fabrikam") || email.contains("bücher") || email.contains("bcher"))
                .doesNotHaveDuplicates().hasSize(5);
    }

    @Test
    void theCallbackIgnoresRequestHeadersNamedLikeItsParameters() throws Exception {
        bridge.send("onboarding", "headers", "{\"request_id\":\"req-headers\",\"tenant_id\":\"headers\"}");
        String state = state("headers");
        HttpClient http = HttpClient.newHttpClient();
        // A state given as a header only: no state in the URL, so nothing is recorded.
        HttpResponse<String> headerOnly = http.send(HttpRequest.newBuilder(bridge.callbackUri("admin_consent=true"))
                .header("state", state).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(headerOnly.statusCode()).isEqualTo(400);
        // An error header must not turn a consent into a denial.
        HttpResponse<String> consent = http.send(HttpRequest.newBuilder(bridge.callbackUri("admin_consent=true&state=" + state))
                .header("error", "access_denied").header("state", "forged").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(consent.statusCode()).isEqualTo(200);
        assertThat(consent.body()).contains("Consent recorded");
        results.awaitEvent(e -> "consent.granted".equals(e.path("type").asText()) && "headers".equals(e.path("subject").asText()), WAIT);
        assertThat(resultsOf("headers", "consent.denied")).isEmpty();
    }

    @Test
    void controlCharactersInIdsAndKeysNeverForgeALogLine() {
        StringWriter logs = new StringWriter();
        Appender capture = attach(logs);
        // Both records processed to their last log line before the capture stops.
        NotifyBuilder bothDone = new NotifyBuilder(bridge.context()).fromRoute("onboarding-requests").whenDone(2).create();
        try {
            String forged = "\r\n2026-12-01 12:00:00.000 INFO  [main] ConsentBridge - FORGED";
            bridge.send("onboarding", "crlf" + forged, "{\"request_id\":\"req-crlf" + json(forged) + "\",\"tenant_id\":\"crlf" + json(forged) + "\"}");
            bridge.send("onboarding", "crlf" + forged, "{\"request_id\":\"req-crlf-bad" + json(forged) + "\",\"tenant_id\":\"crlf" + json(forged) + "\",\"provider\":\"google\"}");
            dlq.awaitEvent(e -> e.path("data").path("request_id").asText().startsWith("req-crlf-bad"), WAIT);
            consentUrls.awaitEvent(e -> e.path("subject").asText().startsWith("crlf"), WAIT);
            assertThat(bothDone.matches(WAIT.toSeconds(), TimeUnit.SECONDS)).as("both records processed").isTrue();
        } finally {
            detach(capture);
        }
        Pattern lineStart = Pattern.compile("^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3} ");
        assertThat(logs.toString()).contains("crlf\\r\\n2026-12-01");
        for (String line : logs.toString().split("\n", -1)) {
            assertThat(line.isEmpty() || lineStart.matcher(line).find()).as("a line that does not start with a timestamp: " + line).isTrue();
            assertThat(line).doesNotStartWith("2026-12-01 12:00:00.000");
        }
    }

    /**
     * Grant work is queued in the ledger only, by the transaction that decides it: the bridge reads
     * no Kafka topic but the contract's inputs, so no record written by anyone else can make a grant.
     */
    @Test
    void theBridgeReadsOnlyTheContractsInputTopics() {
        String group = bridge.settings.get("kafka.group-id");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bridge.bootstrap()))) {
            // Once the group has shared out its partitions: what its members read, and what it ever committed.
            await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                Set<String> read = new TreeSet<>();
                admin.describeConsumerGroups(List.of(group)).all().get().get(group).members()
                        .forEach(member -> member.assignment().topicPartitions().forEach(p -> read.add(p.topic())));
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().keySet().forEach(p -> read.add(p.topic()));
                assertThat(read).contains(bridge.topic("onboarding"))
                        .isSubsetOf(bridge.topic("onboarding"), bridge.topic("mailboxes"), bridge.topic("commands"));
            });
        }
    }

    @Test
    void anAnswerTooLongForTheLedgerEndsAsGrantFailedAfterOneCall() {
        bridge.nylas.grantIdFor("long@overlong.com", "g".repeat(500));
        bridge.send("onboarding", "overlong", "{\"request_id\":\"req-overlong\",\"tenant_id\":\"overlong\",\"mailboxes\":[\"long@overlong.com\",\"fine@overlong.com\"]}");
        bridge.get(bridge.callbackUri("admin_consent=true&state=" + state("overlong")), null);
        JsonNode failed = results.awaitEvent(e -> "grant.failed".equals(e.path("type").asText()) && "long@overlong.com".equals(e.path("data").path("email").asText()), WAIT);
        assertThat(failed.path("data").path("error").path("type").asText()).isEqualTo("invalid_response");
        results.awaitEvent(e -> "grant.created".equals(e.path("type").asText()) && "fine@overlong.com".equals(e.path("data").path("email").asText()), WAIT);
        bridge.awaitIdle();
        assertThat(bridge.nylas.requests("POST", "/v3/connect/custom"))
                .filteredOn(r -> "long@overlong.com".equals(r.json().path("settings").path("email_address").asText())).hasSize(1);
    }

    @Test
    void anErrorBodyThatEchoesTheSecretIsMaskedInTheOutcome() {
        bridge.nylas.faultMessage("credential_data rejected: {\"client_id\":\"app\",\"client_secret\":\"hunter2-echoed\"}");
        try {
            bridge.nylas.failWhen(r -> r.path().equals("/v3/connect/custom") && r.body().contains("echo@"), 400);
            bridge.send("onboarding", "echo", "{\"request_id\":\"req-echo\",\"tenant_id\":\"echo\",\"mailboxes\":[\"echo@echo.com\"]}");
            bridge.get(bridge.callbackUri("admin_consent=true&state=" + state("echo")), null);
            JsonNode failed = results.awaitEvent(e -> "grant.failed".equals(e.path("type").asText()) && "echo".equals(e.path("subject").asText()), WAIT);
            assertThat(failed.path("data").path("error").path("message").asText()).contains("client_secret").doesNotContain("hunter2-echoed");
            assertThat(bridge.get(bridge.managementUri("/onboarding/echo"), BridgeUnderTest.ADMIN_TOKEN).body()).doesNotContain("hunter2-echoed");
        } finally {
            bridge.nylas.faultMessage(null);
            bridge.nylas.clearFaults();
        }
    }

    @Test
    void aFloodOfCallbacksWithMadeUpStatesLeavesHealthAndTheConsumersAlone() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        SecureRandom random = new SecureRandom();
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        List<Integer> health = new ArrayList<>();
        List<CompletableFuture<Void>> inFlight = new ArrayList<>();
        long started = System.nanoTime();
        bridge.send("onboarding", "during-flood", "{\"request_id\":\"req-during-flood\",\"tenant_id\":\"during-flood\"}");
        for (int i = 0; i < 2000; i++) {
            byte[] bytes = new byte[32];
            random.nextBytes(bytes);
            // Well-formed states, so each one is looked up; half of them malformed, refused at once.
            String state = i % 2 == 0 ? Base64.getUrlEncoder().withoutPadding().encodeToString(bytes) : "x" + i;
            inFlight.add(http.sendAsync(HttpRequest.newBuilder(bridge.callbackUri("admin_consent=true&state=" + state))
                            .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.discarding())
                    .thenAccept(r -> (r.statusCode() == 400 ? refused : other).incrementAndGet()));
            if (inFlight.size() % 200 == 0) {
                health.add(bridge.get(bridge.managementUri("/observe/health"), null).statusCode());
                CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();
            }
        }
        CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();
        health.add(bridge.get(bridge.managementUri("/observe/health"), null).statusCode());
        System.out.printf("callback flood: 2000 callbacks in %d ms, %d refused, %d other; health %s%n",
                (System.nanoTime() - started) / 1_000_000, refused.get(), other.get(), health);
        assertThat(refused.get()).isEqualTo(2000);
        assertThat(health).containsOnly(200);
        consentUrls.awaitEvent(e -> "during-flood".equals(e.path("subject").asText()), WAIT);
    }

    @Test
    void theStatusEndpointSaysHowToAuthenticate() {
        HttpResponse<String> answer = bridge.get(bridge.managementUri("/onboarding/anyone"), null);
        assertThat(answer.statusCode()).isEqualTo(401);
        assertThat(answer.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
    }

    // ---- helpers ---------------------------------------------------------------------------------

    static KafkaProducer<String, String> producer() {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bridge.settings.get("camel.component.kafka.brokers"),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
    }

    /** A log capture with the shipped layout, on the root logger. */
    static Appender attach(StringWriter target) {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        PatternLayout layout = PatternLayout.newBuilder().withConfiguration(config).withAlwaysWriteExceptions(false)
                .withPattern(LogLinesTest.shippedPattern()).build();
        Appender appender = WriterAppender.newBuilder().setName("input-boundary").setTarget(target).setLayout(layout).build();
        appender.start();
        config.getRootLogger().addAppender(appender, null, null);
        context.updateLoggers();
        return appender;
    }

    static void detach(Appender appender) {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        context.getConfiguration().getRootLogger().removeAppender(appender.getName());
        context.updateLoggers();
        appender.stop();
    }

    static String json(String text) {
        return text.replace("\r", "\\r").replace("\n", "\\n");
    }
}
