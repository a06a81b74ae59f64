package io.consentbridge.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A large fan-out through the ledger's grant queue, its claims, the workers' shared commits and the
 * relay: every mailbox gets exactly one Nylas call and exactly one grant.created, and no grant work
 * is left behind.
 */
class FanOutExactlyOnceTest {
    static final int MAILBOXES = 1500;
    static final Duration WAIT = Duration.ofMinutes(3);

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest().with("nylas.max-requests-per-second", "200");
    static final TopicReader urls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");

    @Test
    void everyMailboxIsGrantedOnceWithOneCallAndOneEvent() throws Exception {
        bridge.nylas.delay(Duration.ofMillis(20));
        List<String> mailboxes = IntStream.range(0, MAILBOXES).mapToObj(i -> "user" + i + "@bulk.example.com").toList();
        bridge.send("onboarding", "bulk", "{\"request_id\":\"req-bulk\",\"tenant_id\":\"bulk\",\"mailboxes\":"
                + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(mailboxes) + "}");
        String state = urls.awaitConsentState("bulk", WAIT);
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + state), null).statusCode()).isEqualTo(200);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> results.events("grant.created").size() >= MAILBOXES);
        bridge.awaitIdle();

        Map<String, Long> calls = bridge.nylas.requests("POST", "/v3/connect/custom").stream()
                .collect(Collectors.groupingBy(r -> r.json().path("settings").path("email_address").asText(), Collectors.counting()));
        Map<String, Long> events = results.events("grant.created").stream()
                .collect(Collectors.groupingBy((Function<JsonNode, String>) e -> e.path("data").path("email").asText(), Collectors.counting()));
        assertThat(calls.keySet()).containsExactlyInAnyOrderElementsOf(mailboxes);
        assertThat(calls).as("Nylas calls per mailbox").allSatisfy((email, n) -> assertThat(n).as(email).isEqualTo(1));
        assertThat(events.keySet()).containsExactlyInAnyOrderElementsOf(mailboxes);
        assertThat(events).as("grant.created per mailbox").allSatisfy((email, n) -> assertThat(n).as(email).isEqualTo(1));
    }
}
