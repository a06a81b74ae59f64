package io.consentbridge.fuzz;

import io.consentbridge.ops.DeadLetters;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static io.consentbridge.fuzz.RecordOutcomeProperties.bytes;
import static io.consentbridge.fuzz.RecordOutcomeProperties.mailboxes;
import static io.consentbridge.fuzz.RecordOutcomeProperties.randomText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Contract §5, the command topic, through a real broker: any record, of any size up to the broker's
 * limit, that is not a command the ledger can carry out (broken, invalid, for a tenant it does not
 * know, a request id already used) gives exactly one bounded rejection on the DLQ, never a secret,
 * and the next command on the same partition is carried out. Records are generated in eight shapes
 * (valid commands for unknown tenants with thousands of mailboxes, a rotation's secret in broken
 * input, random bytes, huge strings, arrays, deep nesting, unknown commands, a used request id).
 */
class CommandRecordProperties {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final int MAX_RECORD_BYTES = RecordOutcomeProperties.MAX_RECORD_BYTES;
    static final String HOME = "home-tenant";
    static final AtomicInteger TRY = new AtomicInteger();
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader dlq = bridge.reader("dlq");

    @BeforeContainer
    static void start() {
        bridge.start();
        // A tenant the canary commands can be carried out for: onboarded, its consent pending.
        bridge.send("onboarding", HOME, "{\"request_id\":\"req-home\",\"tenant_id\":\"" + HOME + "\"}");
        consentUrls.awaitConsentState(HOME, WAIT);
    }

    @AfterContainer
    static void stop() {
        System.out.printf("CommandRecordProperties: %d records%n", TRY.get());
        bridge.close();
    }

    @Property(tries = 30, seed = "20261202")
    void anyCommandThatCannotBeCarriedOutGivesOneBoundedRejectionAndThePartitionMovesOn(
            @ForAll @IntRange(min = 0, max = 7) int shape,
            @ForAll @IntRange(min = 1, max = MAX_RECORD_BYTES) int size,
            @ForAll long seed) {
        int n = TRY.incrementAndGet();
        String record = record(shape, size, new Random(seed), n);
        int dlqBefore = dlq.records().size();
        int linksBefore = consentUrls.records().size();
        String canary = "canary-" + n;
        bridge.send("commands", "one-partition", record);
        // The next command on the partition: a reconsent, which issues a fresh link for the home tenant.
        bridge.send("commands", "one-partition", "{\"request_id\":\"" + canary + "\",\"tenant_id\":\"" + HOME + "\",\"command\":\"reconsent\"}");

        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> consentUrls.events().stream()
                .anyMatch(e -> canary.equals(e.path("data").path("request_id").asText())));
        // The readers are separate consumers: each reads what was on its topic by now before counting.
        dlq.awaitCaughtUp(WAIT);
        consentUrls.awaitCaughtUp(WAIT);
        List<ConsumerRecord<String, String>> newDlq = dlq.records().subList(dlqBefore, dlq.records().size());
        List<ConsumerRecord<String, String>> otherLinks = consentUrls.records().subList(linksBefore, consentUrls.records().size()).stream()
                .filter(r -> !r.value().contains("\"request_id\":\"" + canary + "\"")).toList();
        assertThat(otherLinks).as("links for a shape-%d record", shape).isEmpty();
        assertThat(newDlq).as("rejections of a shape-%d record of %d bytes", shape, bytes(record)).hasSize(1);
        assertThat(bytes(newDlq.get(0).value())).isLessThanOrEqualTo(DeadLetters.MAX_EVENT_BYTES);
        assertThat(newDlq.get(0).value()).doesNotContain("SECRET-");
    }

    /** A record of about {@code size} bytes (never over the broker's limit) in one of eight shapes. */
    static String record(int shape, int size, Random random, int n) {
        String ids = "\"request_id\":\"cmd-prop-" + n + "\",\"tenant_id\":\"prop-" + n + "\"";
        String[] commands = {"offboard", "reconsent", "reconcile", "remove_mailboxes"};
        String text = switch (shape) {
            // A valid command for a tenant the ledger does not know; remove_mailboxes with many mailboxes.
            case 0 -> {
                String command = commands[random.nextInt(commands.length)];
                yield "{" + ids + ",\"command\":\"" + command + "\""
                        + (command.equals("remove_mailboxes") ? ",\"mailboxes\":" + mailboxes(Math.min(size, 600_000), random, false) : "") + "}";
            }
            // A well-formed rotation for an unknown tenant: its secret must not be echoed.
            case 1 -> "{" + ids + ",\"command\":\"rotate_secret\",\"client_id\":\"app\",\"client_secret\":\"SECRET-" + n + "\"}";
            // Random bytes, not JSON.
            case 2 -> randomText(size, random);
            // A string far over the parser's limit.
            case 3 -> "{" + ids + ",\"command\":\"offboard\",\"note\":\"" + "x".repeat(Math.max(0, size - 120)) + "\"}";
            // Valid JSON, an array.
            case 4 -> "[" + "{\"command\":\"offboard\"},".repeat(Math.max(0, size / 22 - 1)) + "{}]";
            // Deep nesting.
            case 5 -> "{" + ids + ",\"command\":" + "[".repeat(Math.max(1, size / 2 - 60)) + "]".repeat(Math.max(1, size / 2 - 60)) + "}";
            // A command nobody knows, with a secret and junk.
            case 6 -> "{" + ids + ",\"command\":\"" + randomText(1 + random.nextInt(40), random).replace("\"", "'").replace("\\", "/")
                    + "\",\"client_secret\":\"SECRET-" + n + "\",\"junk\":\""
                    + randomText(Math.max(0, size - 300), random).replace("\"", "'").replace("\\", "/") + "\"}";
            // A valid command for the known tenant under a request id already used (its onboarding's).
            default -> "{\"request_id\":\"req-home\",\"tenant_id\":\"" + HOME + "\",\"command\":\"reconsent\"}";
        };
        while (bytes(text) > MAX_RECORD_BYTES) {
            text = text.substring(0, text.length() * 9 / 10);
        }
        return text;
    }
}
