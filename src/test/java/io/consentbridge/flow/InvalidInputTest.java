package io.consentbridge.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Each rule of the contract broken once: every bad record lands on the DLQ with its reason, and the next good one is processed. */
class InvalidInputTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader dlq = bridge.reader("dlq");
    static final TopicReader consentUrls = bridge.reader("consent-urls");

    @Test
    void everyBadOnboardingRequestGoesToTheDlqAndTheNextOneIsProcessed() {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("not JSON", "{\"request_id\": \"r-json\", \"client_secret\": \"hunter2-secret\", ");
        bad.put("empty", " ");
        bad.put("JSON but not an object", "[1,2,3]");
        bad.put("no request_id", "{\"tenant_id\":\"t1\"}");
        bad.put("no tenant_id", "{\"request_id\":\"r-no-tenant\"}");
        bad.put("empty tenant_id", "{\"request_id\":\"r-empty\",\"tenant_id\":\"\"}");
        bad.put("request_id too long", "{\"request_id\":\"" + "r".repeat(129) + "\",\"tenant_id\":\"t1\"}");
        bad.put("tenant_id too long", "{\"request_id\":\"r-long-tenant\",\"tenant_id\":\"" + "t".repeat(129) + "\"}");
        bad.put("other provider", "{\"request_id\":\"r-google\",\"tenant_id\":\"t1\",\"provider\":\"google\"}");
        bad.put("azure_tenant common", "{\"request_id\":\"r-common\",\"tenant_id\":\"t1\",\"azure_tenant\":\"Common\"}");
        bad.put("client_id without secret", "{\"request_id\":\"r-id-only\",\"tenant_id\":\"t1\",\"client_id\":\"app\"}");
        bad.put("client_secret without id", "{\"request_id\":\"r-secret-only\",\"tenant_id\":\"t1\",\"client_secret\":\"hunter2-secret\"}");
        bad.put("bad admin_email", "{\"request_id\":\"r-admin\",\"tenant_id\":\"t1\",\"admin_email\":\"not-an-address\"}");
        bad.put("mailboxes not a list", "{\"request_id\":\"r-mbx\",\"tenant_id\":\"t1\",\"mailboxes\":\"a@b.com\"}");
        // (A mailbox string that is no address does not make the request invalid: InputBoundaryTest.)
        bad.put("mailbox not a string", "{\"request_id\":\"r-mbx2\",\"tenant_id\":\"t1\",\"mailboxes\":[\"a@b.com\",7]}");
        bad.put("mailbox over 320 characters", "{\"request_id\":\"r-mbx4\",\"tenant_id\":\"t1\",\"mailboxes\":[\"" + "a".repeat(310) + "@contoso.com\"]}");
        bad.put("too many mailboxes", "{\"request_id\":\"r-mbx3\",\"tenant_id\":\"t1\",\"mailboxes\":[" + "\"a@b.com\",".repeat(10000) + "\"z@b.com\"]}");
        bad.put("unknown field", "{\"request_id\":\"r-extra\",\"tenant_id\":\"t1\",\"mailbox\":[\"a@b.com\"]}");
        bad.put("nested too deep", "{\"request_id\":\"r-deep\",\"tenant_id\":\"t1\",\"x\":" + "[".repeat(100) + "]".repeat(100) + "}");

        bad.forEach((why, value) -> bridge.send("onboarding", "t1", value));
        bridge.send("onboarding", "good", "{\"request_id\":\"r-good\",\"tenant_id\":\"good\"}");

        consentUrls.awaitEvent(e -> "good".equals(e.path("subject").asText()), WAIT);
        // Other tests of this class write to the same DLQ: count only this test's records.
        Set<String> others = Set.of("r-refused", "m-ghost", "m-empty");
        await().atMost(WAIT).until(() -> dlq.events("request.rejected").stream()
                .filter(e -> !others.contains(e.path("data").path("request_id").asText())).count() >= bad.size());
        List<JsonNode> rejected = dlq.events("request.rejected").stream()
                .filter(e -> !others.contains(e.path("data").path("request_id").asText())).toList();
        assertThat(rejected).hasSize(bad.size());
        for (JsonNode event : rejected) {
            JsonNode data = event.path("data");
            assertThat(data.path("reason").asText()).isNotBlank();
            assertThat(data.path("errors").isArray()).isTrue();
            assertThat(data.path("errors").size()).isPositive();
            assertThat(data.has("original")).isTrue();
            assertThat(data.has("request_id")).isTrue();
            assertThat(data.has("tenant_id")).isTrue();
        }
        // Reasons say what was wrong.
        JsonNode common = byRequest(rejected, "r-common");
        assertThat(common.path("data").path("reason").asText()).isEqualTo("invalid onboarding request");
        assertThat(common.path("data").path("errors").toString()).contains("azure_tenant");
        assertThat(byRequest(rejected, "r-id-only").path("data").path("errors").toString()).contains("client_secret");
        // Broken JSON and JSON nested past the parser's limit are both refused as not valid JSON.
        assertThat(dlq.events().stream().filter(e -> e.path("data").path("reason").asText().equals("not valid JSON"))
                .map(e -> e.path("data").path("errors").toString()))
                .hasSize(2).anyMatch(errors -> errors.contains("nesting depth"));

        // Secrets are masked in the original, JSON or not.
        JsonNode secretOnly = byRequest(rejected, "r-secret-only");
        assertThat(secretOnly.path("data").path("original").path("client_secret").asText()).isEqualTo("***");
        assertThat(dlq.records().toString()).doesNotContain("hunter2-secret");
        // Keyed by tenant where the record named one.
        for (ConsumerRecord<String, String> record : dlq.records()) {
            if (record.value().contains("\"r-google\"")) {
                assertThat(record.key()).isEqualTo("t1");
            }
        }
        // Nothing reached Nylas for the rejected records.
        assertThat(bridge.nylas.requests("POST", "/v3/connectors/microsoft/creds"))
                .allSatisfy(r -> assertThat(r.json().path("name").asText()).matches("consent-bridge/(good|refused)/.*"));
    }

    @Test
    void mailboxesForAnUnknownTenantAreRejected() {
        bridge.send("mailboxes", "ghost", "{\"request_id\":\"m-ghost\",\"tenant_id\":\"ghost\",\"mailboxes\":[\"a@ghost.com\"]}");
        bridge.send("mailboxes", "ghost", "{\"request_id\":\"m-empty\",\"tenant_id\":\"ghost\",\"mailboxes\":[]}");
        JsonNode unknown = dlq.awaitEvent(e -> "m-ghost".equals(e.path("data").path("request_id").asText()), WAIT);
        assertThat(unknown.path("data").path("reason").asText()).isEqualTo("unknown tenant");
        JsonNode empty = dlq.awaitEvent(e -> "m-empty".equals(e.path("data").path("request_id").asText()), WAIT);
        assertThat(empty.path("data").path("reason").asText()).isEqualTo("invalid mailbox request");
    }

    @Test
    void aCredentialThatNylasRefusesIsReportedOnTheDlq() {
        bridge.nylas.failNext("/v3/connectors", 1, 400);
        bridge.send("onboarding", "refused", "{\"request_id\":\"r-refused\",\"tenant_id\":\"refused\",\"client_id\":\"a\",\"client_secret\":\"hunter2-secret\"}");
        JsonNode event = dlq.awaitEvent(e -> "r-refused".equals(e.path("data").path("request_id").asText()), WAIT);
        assertThat(event.path("data").path("reason").asText()).isEqualTo("nylas rejected the credential");
        assertThat(event.path("data").path("errors").toString()).contains("400");
        assertThat(event.path("data").path("original").path("client_secret").asText()).isEqualTo("***");
    }

    private static JsonNode byRequest(List<JsonNode> events, String requestId) {
        return events.stream().filter(e -> requestId.equals(e.path("data").path("request_id").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no DLQ event for " + requestId));
    }
}
