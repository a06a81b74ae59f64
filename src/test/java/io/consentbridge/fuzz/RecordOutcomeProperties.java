package io.consentbridge.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.ops.DeadLetters;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Contract §2, through a real broker: for any record, of any size up to the broker's limit (about
 * 1 MB), exactly one outcome comes out (a consent link or a rejection on the DLQ), every event fits
 * in 256 KiB, and the next record on the same partition is processed. Records are generated in
 * several shapes (valid requests with thousands of mixed mailboxes, thousands of errors, broken JSON,
 * huge strings, deep nesting, secrets in broken input); none is left out.
 */
class RecordOutcomeProperties {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final int MAX_RECORD_BYTES = 1_000_000;
    static final ObjectMapper JSON = new ObjectMapper();
    static final AtomicInteger TRY = new AtomicInteger();
    static final AtomicLong SLOWEST_REJECTION_MS = new AtomicLong();
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader dlq = bridge.reader("dlq");

    @BeforeContainer
    static void start() {
        bridge.start();
    }

    @AfterContainer
    static void stop() {
        System.out.printf("RecordOutcomeProperties: %d records; slowest send-to-DLQ-event %d ms%n", TRY.get(), SLOWEST_REJECTION_MS.get());
        bridge.close();
    }

    @Property(tries = 40, seed = "20261201")
    void anyRecordGivesExactlyOneBoundedOutcomeAndThePartitionMovesOn(
            @ForAll @IntRange(min = 0, max = 6) int shape,
            @ForAll @IntRange(min = 1, max = MAX_RECORD_BYTES) int size,
            @ForAll long seed) {
        int n = TRY.incrementAndGet();
        String record = record(shape, size, new Random(seed), n);
        int dlqBefore = dlq.records().size();
        int linksBefore = consentUrls.records().size();
        String canary = "canary-" + n;
        long sent = System.nanoTime();
        bridge.send("onboarding", "one-partition", record);
        bridge.send("onboarding", "one-partition", "{\"request_id\":\"req-" + canary + "\",\"tenant_id\":\"" + canary + "\"}");

        // The next record on the partition is processed...
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20))
                .until(() -> consentUrls.events().stream().anyMatch(e -> canary.equals(e.path("subject").asText())));
        // The readers are separate consumers: each reads what was on its topic by now before counting.
        dlq.awaitCaughtUp(WAIT);
        consentUrls.awaitCaughtUp(WAIT);
        List<ConsumerRecord<String, String>> newDlq = dlq.records().subList(dlqBefore, dlq.records().size());
        List<ConsumerRecord<String, String>> newLinks = consentUrls.records().subList(linksBefore, consentUrls.records().size()).stream()
                .filter(r -> !r.value().contains("\"subject\":\"" + canary + "\"")).toList();
        if (!newDlq.isEmpty()) {
            SLOWEST_REJECTION_MS.accumulateAndGet((System.nanoTime() - sent) / 1_000_000, Math::max);
        }
        // ...and the one before it had exactly one outcome, within the bound.
        assertThat(newDlq.size() + newLinks.size()).as("outcomes of a shape-%d record of %d bytes", shape, bytes(record)).isEqualTo(1);
        for (ConsumerRecord<String, String> event : concat(newDlq, newLinks)) {
            assertThat(bytes(event.value())).isLessThanOrEqualTo(DeadLetters.MAX_EVENT_BYTES);
            assertThat(event.value()).doesNotContain("SECRET-");
        }
    }

    /** A record of about {@code size} bytes (never over the broker's limit) in one of seven shapes. */
    static String record(int shape, int size, Random random, int n) {
        String ids = "\"request_id\":\"req-prop-" + n + "\",\"tenant_id\":\"prop-" + n + "\"";
        String text = switch (shape) {
            // A valid request with mailboxes, valid and not, up to the size (over 10,000 of them is invalid).
            case 0 -> "{" + ids + ",\"mailboxes\":" + mailboxes(size, random, false) + "}";
            // Every mailbox over 320 characters: thousands of errors.
            case 1 -> "{" + ids + ",\"mailboxes\":" + mailboxes(size, random, true) + "}";
            // Random bytes, not JSON.
            case 2 -> randomText(size, random);
            // A string far over the parser's 64 K limit.
            case 3 -> "{" + ids + ",\"note\":\"" + "x".repeat(Math.max(0, size - 80)) + "\"}";
            // Valid JSON, but an array of objects.
            case 4 -> "[" + "{\"a\":1},".repeat(Math.max(0, size / 8 - 1)) + "{}]";
            // Deep nesting.
            case 5 -> "{" + ids + ",\"x\":" + "[".repeat(Math.max(1, size / 2 - 60)) + "]".repeat(Math.max(1, size / 2 - 60)) + "}";
            // A secret in broken input, with much around it.
            default -> "{" + ids + ",\"client_id\":\"app\",\"client_secret\":\"SECRET-" + n + "\",\"junk\":\""
                    + randomText(Math.max(0, size - 200), random).replace("\"", "'").replace("\\", "/") + "\", broken";
        };
        while (bytes(text) > MAX_RECORD_BYTES) {
            text = text.substring(0, text.length() * 9 / 10);
        }
        return text;
    }

    static String mailboxes(int size, Random random, boolean overLong) {
        List<String> items = new ArrayList<>();
        int used = 2;
        String[] domains = {"contoso.example", "fabrikam.technology", "bücher.de", "xn--p1ai.xn--p1ai", "例え.テスト", "a.museum"};
        while (used < size) {
            String item;
            if (overLong) {
                item = "a".repeat(310 + random.nextInt(40)) + "@contoso.com";
            } else {
                item = switch (random.nextInt(4)) {
                    case 0 -> "user" + random.nextInt(1_000_000) + "@" + domains[random.nextInt(domains.length)];
                    case 1 -> "Chloé." + random.nextInt(1000) + "@" + domains[random.nextInt(domains.length)].toUpperCase();
                    case 2 -> "not an address " + random.nextInt(1000);
                    default -> randomText(1 + random.nextInt(300), random);
                };
            }
            items.add(item);
            used += bytes(item) * 2 + 3;
        }
        try {
            return JSON.writeValueAsString(items);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String randomText(int length, Random random) {
        StringBuilder out = new StringBuilder(length);
        while (out.length() < length) {
            int kind = random.nextInt(10);
            if (kind < 6) {
                out.append((char) (0x20 + random.nextInt(0x5F)));
            } else if (kind < 8) {
                out.append((char) random.nextInt(0x20));
            } else {
                out.appendCodePoint(0xA0 + random.nextInt(0x2000));
            }
        }
        return out.toString();
    }

    static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    static int bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
