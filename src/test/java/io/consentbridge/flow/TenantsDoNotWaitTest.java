package io.consentbridge.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No tenant waits for another: a tenant whose credential call Nylas keeps refusing with 429 and a
 * long Retry-After holds up only its own requests; a tenant on the same partition, read after it,
 * gets its link meanwhile. The partition's committed offset does not pass the unfinished request:
 * stopped then, the bridge reads it again at its next start and finishes it, and each tenant gets
 * one link.
 */
class TenantsDoNotWaitTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader urls = bridge.reader("consent-urls");
    static final TopicReader dlq = bridge.reader("dlq");

    /** Kafka's default partitioner for a keyed record. */
    static int partition(String key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    @Test
    void aTenantRetryingItsCredentialDoesNotHoldUpATenantOnItsPartition() throws Exception {
        String slow = "slowco";
        String fast = "fastco";
        for (int i = 0; partition(fast, 3) != partition(slow, 3); i++) {
            fast = "fastco" + i;
        }
        int shared = partition(slow, 3);
        String slowName = "consent-bridge/" + slow + "/";
        // Nylas throttles the slow tenant's credential call, asking for 20 s each time.
        bridge.nylas.failWhen(r -> r.path().equals("/v3/connectors/microsoft/creds") && r.json().path("name").asText().startsWith(slowName), 429, 20);
        bridge.awaitConsumed("onboarding");
        long slowOffset = bridge.committedOffsets("onboarding").getOrDefault(shared, 0L);
        bridge.send("onboarding", slow, "{\"request_id\":\"req-slow\",\"tenant_id\":\"" + slow + "\"}");
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> bridge.nylas.requests().stream()
                .anyMatch(r -> r.json().path("name").asText().startsWith(slowName)));
        long sent = System.nanoTime();
        bridge.send("onboarding", fast, "{\"request_id\":\"req-fast\",\"tenant_id\":\"" + fast + "\"}");
        String fastTenant = fast;
        JsonNode issued = urls.awaitEvent(e -> fastTenant.equals(e.path("subject").asText()), Duration.ofSeconds(15));
        long seconds = Duration.ofNanos(System.nanoTime() - sent).toSeconds();
        assertThat(issued.path("data").path("request_id").asText()).isEqualTo("req-fast");
        assertThat(seconds).as("the other tenant's link came while the slow one waited on Retry-After").isLessThan(15);
        assertThat(urls.events().stream().filter(e -> slow.equals(e.path("subject").asText()))).isEmpty();

        // The fast request is done, the slow one is not: a poll or two later, the commit is still at the slow one.
        Thread.sleep(2500);
        assertThat(bridge.committedOffsets("onboarding").getOrDefault(shared, 0L))
                .as("the committed offset does not pass the unfinished request").isEqualTo(slowOffset);

        // Stopped while the slow request waits: the stop does not wait out the 20 s back-off (it used to
        // hold the stop until camel.main.shutdown-timeout, 30 s), and the request is neither rejected
        // nor committed: it is read again at the next start and finished; the fast one, read again with
        // it, is recognised as done and not issued twice.
        long stopping = System.nanoTime();
        bridge.stop();
        Duration stop = Duration.ofNanos(System.nanoTime() - stopping);
        assertThat(stop).as("the stop waited for the Retry-After of a request being retried").isLessThan(Duration.ofSeconds(15));
        bridge.nylas.clearFaults();
        bridge.start();
        urls.awaitEvent(e -> slow.equals(e.path("subject").asText()), WAIT);
        bridge.awaitConsumed("onboarding");
        assertThat(bridge.committedOffsets("onboarding").get(shared)).isEqualTo(slowOffset + 2);
        bridge.awaitPublished();
        assertThat(urls.events().stream().filter(e -> slow.equals(e.path("subject").asText()))).hasSize(1);
        assertThat(urls.events().stream().filter(e -> fastTenant.equals(e.path("subject").asText()))).hasSize(1);
        assertThat(dlq.events()).as("nothing rejected for a stop").isEmpty();
    }
}
