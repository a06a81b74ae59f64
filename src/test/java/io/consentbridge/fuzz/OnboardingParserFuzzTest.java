package io.consentbridge.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.fuzz.InboundInputs.Input;
import io.consentbridge.inbound.InboundRequests;
import io.consentbridge.inbound.MailboxRequest;
import io.consentbridge.inbound.OnboardingRequest;
import io.consentbridge.inbound.RejectedInputException;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Thousands of hostile onboarding and mailbox records. Part A calls the parser directly: each
 * input is either a request or a {@link RejectedInputException} with a reason, and the DLQ copy
 * of it never holds the client secret. Part B sends a sample through Kafka to the running
 * application: no record blocks the consumer, each rejected one lands on the DLQ exactly once.
 * Deterministic: the seed is printed and can be set with -Dfuzz.seed.
 */
class OnboardingParserFuzzTest {
    static final long SEED = Long.getLong("fuzz.seed", 20260314L);
    static final int COUNT = Integer.getInteger("fuzz.parser.inputs", 5000);
    static final int KAFKA_SAMPLE = Integer.getInteger("fuzz.parser.kafka", 300);
    static final Duration WAIT = Duration.ofSeconds(120);
    /** Reasons the parser gives; other DLQ reasons come from later steps (ledger, Nylas). */
    static final Set<String> PARSER_REASONS = Set.of("empty record", "record too large", "not valid JSON",
            "invalid onboarding request", "invalid mailbox request");
    /** Column widths of the ledger (V1__ledger.sql), in the UTF-16 units H2 counts. */
    static final int ID_COLUMN = 128;
    static final int AZURE_TENANT_COLUMN = 255;
    static final int EMAIL_COLUMN = 320;

    static List<Input> inputs;
    static CamelContext camel;
    static final InboundRequests inbound = new InboundRequests();

    record Outcome(Input input, Object parsed, RejectedInputException rejected, Throwable other, long nanos) {
    }

    @BeforeAll
    static void generate() {
        long started = System.nanoTime();
        inputs = InboundInputs.generate(new Random(SEED), COUNT);
        camel = new DefaultCamelContext();
        System.out.printf("OnboardingParserFuzzTest seed=%d (-Dfuzz.seed=%d to repeat): %d inputs generated in %d ms%n",
                SEED, SEED, inputs.size(), (System.nanoTime() - started) / 1_000_000);
    }

    @AfterAll
    static void close() throws Exception {
        camel.close();
    }

    static Outcome parse(Input input, String raw) {
        var exchange = new DefaultExchange(camel);
        long started = System.nanoTime();
        try {
            Object parsed = input.mailbox() ? inbound.parseMailboxes(raw, exchange) : inbound.parseOnboarding(raw, exchange);
            return new Outcome(input, parsed, null, null, System.nanoTime() - started);
        } catch (RejectedInputException e) {
            return new Outcome(input, null, e, null, System.nanoTime() - started);
        } catch (Throwable e) {
            // StackOverflowError and other Errors included: any of them is a finding.
            return new Outcome(input, null, null, e, System.nanoTime() - started);
        }
    }

    // ---- Part A: the parser, directly --------------------------------------------------------

    @Test
    void everyInputParsesOrIsRejectedWithAReason() {
        long started = System.nanoTime();
        List<String> violations = new ArrayList<>();
        Map<String, Integer> byReason = new TreeMap<>();
        Map<String, int[]> byLabel = new TreeMap<>();
        List<Outcome> outcomes = new ArrayList<>();
        for (Input input : inputs) {
            Outcome outcome = parse(input, input.raw());
            outcomes.add(outcome);
            // Counted under each mutation the input went through.
            List<int[]> counts = java.util.Arrays.stream(input.label().split("\\+")).map(l -> byLabel.computeIfAbsent(l, k -> new int[3])).toList();
            if (outcome.other() != null) {
                counts.forEach(c -> c[2]++);
                byReason.merge("THROWN " + outcome.other().getClass().getSimpleName(), 1, Integer::sum);
                violations.add(input.describe() + " -> " + outcome.other());
            } else if (outcome.rejected() != null) {
                counts.forEach(c -> c[1]++);
                RejectedInputException rejected = outcome.rejected();
                byReason.merge(String.valueOf(rejected.reason()), 1, Integer::sum);
                if (rejected.reason() == null || rejected.reason().isBlank()) {
                    violations.add(input.describe() + " -> rejected without a reason");
                }
                if (rejected.errors() == null || rejected.errors().isEmpty()
                        || rejected.errors().stream().anyMatch(e -> e == null || e.isBlank())) {
                    violations.add(input.describe() + " -> rejected without error messages: " + rejected.errors());
                }
            } else {
                counts.forEach(c -> c[0]++);
                byReason.merge("parsed", 1, Integer::sum);
                violations.addAll(checkParsed(input, outcome.parsed()));
            }
        }
        long millis = (System.nanoTime() - started) / 1_000_000;
        System.out.println("Part A outcomes: " + byReason);
        System.out.println("Part A by mutation (parsed/rejected/thrown):");
        byLabel.forEach((label, c) -> System.out.printf("  %-20s %5d %5d %5d%n", label, c[0], c[1], c[2]));
        System.out.printf("Part A: %d inputs in %d ms; slowest:%n", inputs.size(), millis);
        outcomes.stream().sorted(Comparator.comparingLong(Outcome::nanos).reversed()).limit(5)
                .forEach(o -> System.out.printf("  %d ms %s%n", o.nanos() / 1_000_000, shorten(o.input().describe())));
        violations.stream().limit(40).forEach(v -> System.out.println("VIOLATION " + shorten(v)));
        assertThat(violations).as("parser violations (seed " + SEED + ")").isEmpty();
    }

    /** What an accepted request must satisfy according to the contract. */
    static List<String> checkParsed(Input input, Object parsed) {
        List<String> problems = new ArrayList<>();
        String requestId;
        String tenantId;
        List<String> mailboxes;
        if (parsed instanceof OnboardingRequest request) {
            requestId = request.requestId();
            tenantId = request.tenantId();
            mailboxes = request.mailboxes();
            if (request.azureTenant() != null && request.azureTenant().equalsIgnoreCase("common")) {
                problems.add("accepted azure_tenant " + request.azureTenant());
            }
            if ((request.clientId() == null) != (request.clientSecret() == null)) {
                problems.add("accepted client_id without client_secret or the other way round");
            }
            if (request.adminEmail() != null && !request.adminEmail().contains("@")) {
                problems.add("accepted admin_email " + request.adminEmail());
            }
        } else if (parsed instanceof MailboxRequest request) {
            requestId = request.requestId();
            tenantId = request.tenantId();
            mailboxes = request.mailboxes();
            // Strings that are no address are accepted too: each gets its own grant.failed.
            if (mailboxes.isEmpty() && request.invalidMailboxes().isEmpty()) {
                problems.add("accepted a mailbox request without mailboxes");
            }
        } else {
            return List.of(input.describe() + " -> parsed into " + parsed);
        }
        for (String id : new String[]{requestId, tenantId}) {
            if (id == null || id.isEmpty() || id.codePointCount(0, id.length()) > ID_COLUMN) {
                problems.add("accepted id '" + id + "'");
            }
        }
        if (mailboxes.size() > 10_000) {
            problems.add("accepted " + mailboxes.size() + " mailboxes");
        }
        if (new HashSet<>(mailboxes).size() != mailboxes.size()) {
            problems.add("mailboxes not de-duplicated");
        }
        for (String mailbox : mailboxes) {
            if (!io.consentbridge.inbound.MailboxAddress.isValid(mailbox) || !mailbox.equals(mailbox.trim().toLowerCase(Locale.ROOT))) {
                problems.add("accepted mailbox '" + mailbox + "'");
            }
        }
        return problems.stream().map(p -> input.describe() + " -> " + p).toList();
    }

    /** The DLQ's copy of a record (original, reason, errors) for each input that holds a secret; null when it is clean. */
    static String leak(Input input) {
        Object original;
        try {
            original = inbound.redactedOriginal(input.raw());
        } catch (Throwable e) {
            return "redactedOriginal threw " + e;
        }
        if (input.secret() == null) {
            return null;
        }
        if (String.valueOf(original).contains(input.secret())) {
            return "original: " + shorten(String.valueOf(original));
        }
        // Even part of it: a parser message that quotes the offending token would show its first word.
        Outcome outcome = parse(input, input.raw());
        if (outcome.rejected() != null && (outcome.rejected().getMessage().contains("SECRET")
                || String.valueOf(outcome.rejected().errors()).contains("SECRET"))) {
            return "errors: " + shorten(String.valueOf(outcome.rejected().errors()));
        }
        return null;
    }

    @Test
    void theDlqCopyOfAnInputNeverHoldsItsClientSecret() {
        List<String> leaks = new ArrayList<>();
        int withSecret = 0;
        for (Input input : inputs) {
            withSecret += input.secret() == null ? 0 : 1;
            String leak = leak(input);
            if (leak != null) {
                leaks.add(input.describe() + " -> " + leak);
            }
        }
        System.out.printf("redaction: %d inputs hold a secret; leaks: %d%n", withSecret, leaks.size());
        leaks.stream().limit(30).forEach(l -> System.out.println("LEAK " + shorten(l)));
        assertThat(leaks).as("client secrets in the DLQ copy (seed " + SEED + ")").isEmpty();
    }

    @Test
    void redactingAnyInputNeverOverflowsTheStack() {
        List<String> thrown = new ArrayList<>();
        for (Input input : inputs) {
            try {
                inbound.redactedOriginal(input.raw());
            } catch (Throwable e) {
                thrown.add(input.describe() + " -> " + e);
            }
        }
        // Minimal case: a non-JSON record whose secret value is 4000 characters long (overflows even once compiled).
        try {
            inbound.redactedOriginal("{\"client_id\":\"a\",\"client_secret\":\"" + "a".repeat(4000) + "\", broken");
        } catch (Throwable e) {
            thrown.add("minimal case -> " + e);
        }
        thrown.stream().limit(5).forEach(t -> System.out.println("THROWN " + shorten(t)));
        assertThat(thrown).isEmpty();
    }

    @Test
    void everyAcceptedRequestFitsTheLedgerColumns() {
        List<String> tooWide = new ArrayList<>();
        for (Input input : inputs) {
            Outcome outcome = parse(input, input.raw());
            String problem = ledgerOverflow(outcome.parsed());
            if (problem != null) {
                tooWide.add(input.describe() + " -> " + problem);
            }
        }
        System.out.println("accepted requests too wide for the ledger: " + tooWide.size());
        tooWide.stream().limit(10).forEach(t -> System.out.println("TOO WIDE " + shorten(t)));
        assertThat(tooWide).isEmpty();
    }

    /** The first value of an accepted request that a VARCHAR column of the ledger cannot hold (H2 counts UTF-16 units). */
    static String ledgerOverflow(Object parsed) {
        if (parsed instanceof OnboardingRequest r) {
            if (r.requestId().length() > ID_COLUMN) {
                return "request_id of " + r.requestId().length() + " UTF-16 units";
            }
            if (r.tenantId().length() > ID_COLUMN) {
                return "tenant_id of " + r.tenantId().length() + " UTF-16 units";
            }
            if (r.azureTenant() != null && r.azureTenant().length() > AZURE_TENANT_COLUMN) {
                return "azure_tenant of " + r.azureTenant().length() + " UTF-16 units";
            }
            return r.mailboxes().stream().filter(m -> m.length() > EMAIL_COLUMN).findFirst().map(m -> "mailbox of " + m.length() + " UTF-16 units").orElse(null);
        }
        if (parsed instanceof MailboxRequest r) {
            if (r.requestId().length() > ID_COLUMN || r.tenantId().length() > ID_COLUMN) {
                return "id of more than " + ID_COLUMN + " UTF-16 units";
            }
            return r.mailboxes().stream().filter(m -> m.length() > EMAIL_COLUMN).findFirst().map(m -> "mailbox of " + m.length() + " UTF-16 units").orElse(null);
        }
        return null;
    }

    // ---- Part B: through Kafka, against the running application ------------------------------

    @Test
    void hostileRecordsAreRejectedOnceEachAndDoNotBlockTheConsumer() {
        runThroughKafka(kafkaSample(KAFKA_SAMPLE), "Part B");
    }

    /**
     * Onboarding inputs that the broker can carry (its limit is about 1 MB; the parser's own size
     * limit is covered by part A). Nothing else is left out.
     */
    static List<Input> kafkaSample(int size) {
        List<Input> candidates = new ArrayList<>();
        for (Input input : inputs) {
            if (!input.mailbox() && input.raw().getBytes(StandardCharsets.UTF_8).length < 1_000_000) {
                candidates.add(input);
            }
        }
        Collections.shuffle(candidates, new Random(SEED + 1));
        System.out.printf("Part B: %d candidates%n", candidates.size());
        return candidates.subList(0, Math.min(size, candidates.size()));
    }

    static void runThroughKafka(List<Input> sample, String name) {
        long started = System.nanoTime();
        Map<String, Integer> expectedByReason = new TreeMap<>();
        int accepted = 0;
        for (Input input : sample) {
            Outcome outcome = parse(input, input.viaKafka());
            if (outcome.rejected() != null) {
                expectedByReason.merge(outcome.rejected().reason(), 1, Integer::sum);
            } else if (outcome.parsed() != null) {
                accepted++;
            } else {
                expectedByReason.merge("THROWN " + outcome.other().getClass().getSimpleName(), 1, Integer::sum);
            }
        }
        int rejected = expectedByReason.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("%s: sending %d records (%d to be rejected by the parser %s, %d accepted by it)%n",
                name, sample.size(), rejected, expectedByReason, accepted);

        try (BridgeUnderTest bridge = new BridgeUnderTest().start()) {
            TopicReader dlq = bridge.reader("dlq");
            TopicReader consentUrls = bridge.reader("consent-urls");
            NotifyBuilder allDone = new NotifyBuilder(bridge.context()).fromRoute("onboarding-requests").whenDone(sample.size() + 1).create();
            long sending = System.nanoTime();
            // One key: one partition, so the final request is read after every hostile one.
            for (Input input : sample) {
                bridge.send("onboarding", "fuzz", input.raw());
            }
            String finalTenant = "fuzz-final-" + name.replace(' ', '-').toLowerCase(Locale.ROOT);
            bridge.send("onboarding", "fuzz", "{\"request_id\":\"req-" + finalTenant + "\",\"tenant_id\":\"" + finalTenant + "\"}");
            consentUrls.awaitEvent(e -> finalTenant.equals(e.path("subject").asText()), WAIT);
            System.out.printf("%s: the final request's consent link arrived %d ms after the first send%n", name, (System.nanoTime() - sending) / 1_000_000);

            await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() -> parserRejections(dlq).size() >= rejected);
            // Anything more would be a second event for one record: every record processed, every event read.
            assertThat(allDone.matches(WAIT.toSeconds(), TimeUnit.SECONDS)).as("every record processed").isTrue();
            bridge.awaitPublished();
            Map<String, Integer> actualByReason = new TreeMap<>();
            Map<String, Integer> otherReasons = new TreeMap<>();
            for (JsonNode event : dlq.events("request.rejected")) {
                String reason = event.path("data").path("reason").asText();
                (PARSER_REASONS.contains(reason) ? actualByReason : otherReasons).merge(reason, 1, Integer::sum);
                assertThat(event.path("data").path("errors").size()).as("errors of a DLQ event: " + shorten(event.toString())).isPositive();
            }
            System.out.printf("%s: DLQ by parser reason %s (expected %s); other DLQ reasons %s; consent links %d%n",
                    name, actualByReason, expectedByReason, otherReasons, consentUrls.events("consent.url.issued").size());

            List<String> leaks = new ArrayList<>();
            for (TopicReader topic : List.of(dlq, consentUrls)) {
                for (ConsumerRecord<String, String> record : topic.records()) {
                    java.util.regex.Matcher marker = java.util.regex.Pattern.compile("SECRET-(\\d*)").matcher(record.value());
                    while (marker.find()) {
                        int at = marker.start();
                        leaks.add(record.topic() + ": ..." + record.value().substring(Math.max(0, at - 120), Math.min(record.value().length(), at + 40)));
                    }
                }
            }
            System.out.printf("%s: SECRET- markers on the DLQ: %d%n", name, leaks.size());
            leaks.stream().limit(10).forEach(l -> System.out.println("LEAK " + l));
            assertThat(bridge.get(bridge.managementUri("/observe/health"), null).statusCode()).isEqualTo(200);
            System.out.printf("%s done in %d ms%n", name, (System.nanoTime() - started) / 1_000_000);
            assertThat(actualByReason).as("DLQ events by parser reason").isEqualTo(expectedByReason);
            assertThat(leaks).as("SECRET- markers on the DLQ or consent-url topics").isEmpty();
        }
    }

    @Test
    void aRecordTooWideForTheLedgerIsRejectedAndDoesNotBlockTheConsumer() {
        // 100 emoji: 100 characters for the schema (maxLength 128), 200 UTF-16 units for H2's VARCHAR(128).
        String tenant = "\uD83D\uDE00".repeat(100);
        afterOneRecord("{\"request_id\":\"req-too-wide\",\"tenant_id\":\"" + tenant + "\"}",
                e -> "req-too-wide".equals(e.path("data").path("request_id").asText()), null);
    }

    @Test
    void aNonJsonRecordWithALongSecretIsRejectedAndDoesNotBlockTheConsumer() {
        // Broken JSON naming a secret: the DLQ copy is withheld. (A secret of 4000 characters once
        // overflowed the stack in the redaction regex.)
        afterOneRecord("{\"request_id\":\"req-long-secret\",\"tenant_id\":\"t-long-secret\",\"client_id\":\"a\",\"client_secret\":\"SECRET-"
                + "a".repeat(4000) + "\", broken", e -> "not valid JSON".equals(e.path("data").path("reason").asText()), "SECRET-");
    }

    @Test
    void aClientSecretInAListAnObjectDoubleEncodedJsonOrUnderAnEscapedKeyNeverReachesTheDlq() {
        try (BridgeUnderTest bridge = new BridgeUnderTest().start()) {
            TopicReader dlq = bridge.reader("dlq");
            List<String> records = List.of(
                    "{\"request_id\":\"r-list\",\"tenant_id\":\"t\",\"client_id\":\"a\",\"client_secret\":[\"SECRET-list\"]}",
                    "{\"request_id\":\"r-object\",\"tenant_id\":\"t\",\"client_id\":\"a\",\"client_secret\":{\"value\":\"SECRET-object\"}}",
                    "\"{\\\"request_id\\\":\\\"r-double\\\",\\\"client_id\\\":\\\"a\\\",\\\"client_secret\\\":\\\"SECRET-double\\\"}\"",
                    "{\"request_id\":\"r-escaped\",\"client_id\":\"a\",\"client_s\\u0065cret\":\"SECRET-escaped\", broken");
            records.forEach(r -> bridge.send("onboarding", "t", r));
            dlq.awaitEvents("request.rejected", records.size(), WAIT);
            List<String> leaks = dlq.records().stream().map(ConsumerRecord::value).filter(v -> v.contains("SECRET-")).toList();
            leaks.forEach(l -> System.out.println("LEAK " + shorten(l)));
            assertThat(leaks).isEmpty();
        }
    }

    /** Sends one record, then a valid request on the same partition: the valid one must still get its link. */
    static void afterOneRecord(String record, java.util.function.Predicate<JsonNode> itsRejection, String secret) {
        try (BridgeUnderTest bridge = new BridgeUnderTest().start()) {
            TopicReader dlq = bridge.reader("dlq");
            TopicReader consentUrls = bridge.reader("consent-urls");
            NotifyBuilder bothDone = new NotifyBuilder(bridge.context()).fromRoute("onboarding-requests").whenDone(2).create();
            bridge.send("onboarding", "fuzz", record);
            bridge.send("onboarding", "fuzz", "{\"request_id\":\"req-after\",\"tenant_id\":\"fuzz-after\"}");
            consentUrls.awaitEvent(e -> "fuzz-after".equals(e.path("subject").asText()), Duration.ofSeconds(60));
            JsonNode rejected = dlq.awaitEvent(itsRejection, WAIT);
            System.out.println("rejected as: " + rejected.path("data").path("reason").asText() + " " + shorten(rejected.path("data").path("errors").toString()));
            assertThat(bothDone.matches(WAIT.toSeconds(), TimeUnit.SECONDS)).as("both records processed").isTrue();
            bridge.awaitPublished();
            assertThat(dlq.events("request.rejected")).as("DLQ events for the one record").hasSize(1);
            if (secret != null) {
                assertThat(dlq.records().toString()).doesNotContain(secret);
            }
        }
    }

    static List<JsonNode> parserRejections(TopicReader dlq) {
        return dlq.events("request.rejected").stream().filter(e -> PARSER_REASONS.contains(e.path("data").path("reason").asText())).toList();
    }

    static String shorten(String text) {
        String oneLine = text.replace("\r", "\\r").replace("\n", "\\n");
        return oneLine.length() <= 400 ? oneLine : oneLine.substring(0, 400) + "...(" + oneLine.length() + " chars)";
    }
}
