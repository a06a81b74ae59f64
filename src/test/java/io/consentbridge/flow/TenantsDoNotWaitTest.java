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
 * long Retry-After holds up only its own partition; a tenant on another partition gets its link.
 */
class TenantsDoNotWaitTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader urls = bridge.reader("consent-urls");

    /** Kafka's default partitioner for a keyed record. */
    static int partition(String key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /** Every partition of the topic assigned, each member of the group holding exactly one. */
    static void awaitOneConsumerPerPartition(String topic) {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                java.util.Map.of("bootstrap.servers", bridge.settings.get("camel.component.kafka.brokers")))) {
            String group = bridge.settings.get("kafka.group-id");
            org.awaitility.Awaitility.await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
                var description = admin.describeConsumerGroups(java.util.List.of(group)).all().get().get(group);
                long holding = description.members().stream()
                        .filter(m -> m.assignment().topicPartitions().stream().filter(tp -> tp.topic().equals(topic)).count() == 1)
                        .count();
                return holding == 3;
            });
        }
    }

    @Test
    void aTenantRetryingItsCredentialDoesNotHoldUpATenantOnAnotherPartition() {
        String slow = "slowco";
        String fast = "fastco";
        for (int i = 0; partition(fast, 3) == partition(slow, 3); i++) {
            fast = "fastco" + i;
        }
        String slowName = "consent-bridge/" + slow + "/";
        // Once the consumers have settled: while a group is still sharing out partitions, a consumer held
        // in a retry keeps the partitions it has until it polls again (a known limit, in the README).
        awaitOneConsumerPerPartition(bridge.topic("onboarding"));
        // Nylas throttles the slow tenant's credential call, asking for 20 s each time.
        bridge.nylas.failWhen(r -> r.path().equals("/v3/connectors/microsoft/creds") && r.json().path("name").asText().startsWith(slowName), 429, 20);
        bridge.send("onboarding", slow, "{\"request_id\":\"req-slow\",\"tenant_id\":\"" + slow + "\"}");
        // Until its first attempt has been refused, the slow tenant holds its consumer.
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
        bridge.nylas.clearFaults();
    }
}
