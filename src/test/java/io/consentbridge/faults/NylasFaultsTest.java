package io.consentbridge.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.nylas.NylasStandIn.RecordedRequest;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * How the bridge copes with Nylas answering 429, 5xx and 4xx: retried failures end in one outcome,
 * rejected ones are not retried, Retry-After is waited for, and exhausted retries are reported.
 * One bridge for the class; every test uses its own tenant and filters events by {@code subject}.
 */
class NylasFaultsTest {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String CUSTOM = "/v3/connect/custom";
    static final String CREDS = "/v3/connectors/microsoft/creds";
    /** Set explicitly so the attempt counts below do not depend on application.properties. */
    static final int MAX_REDELIVERIES = 6;
    static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest().with("nylas.retry.max-redeliveries", String.valueOf(MAX_REDELIVERIES));
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");
    static final TopicReader dlq = bridge.reader("dlq");

    @AfterEach
    void clearFaults() {
        // Scripted faults match any request on their path: none may be left for the next test.
        bridge.nylas.clearFaults();
    }

    @Test
    void threeRateLimitsWithoutRetryAfterThenA500StillEndInOneGrant() {
        String tenant = "faults-429";
        String email = "ada@faults-429.example.com";
        String consentUrl = onboard(tenant, List.of(email));

        // Scripted before consent, so the very first grant calls meet them: 429, 429, 429, 500, then success.
        bridge.nylas.failNext(CUSTOM, 3, 429);
        bridge.nylas.failNext(CUSTOM, 1, 500);
        consent(consentUrl);

        JsonNode created = awaitOne(tenant, "grant.created");
        assertThat(created.path("data").path("email").asText()).isEqualTo(email);
        assertThat(created.path("data").path("grant_id").asText()).isNotBlank();
        // Stays at one grant and no failure once the retries have run their course.
        await().during(Duration.ofSeconds(2)).atMost(WAIT)
                .until(() -> count(tenant, "grant.created") == 1 && count(tenant, "grant.failed") == 0);
        assertThat(grantCallsFor(email)).hasSize(5);
        assertThat(bridge.nylas.grants()).filteredOn(g -> g.email().equals(email)).hasSize(1);
    }

    @Test
    void aNylas400ForOneMailboxOfTenFailsOnlyThatMailboxAndIsNotRetried() {
        String tenant = "faults-400";
        List<String> mailboxes = IntStream.range(0, 10).mapToObj(i -> "user" + i + "@faults-400.example.com").toList();
        String refused = mailboxes.get(6);
        bridge.nylas.failWhen(r -> isGrantCallFor(r, refused), 400);

        consent(onboard(tenant, mailboxes));

        await().atMost(WAIT).until(() -> count(tenant, "grant.created") == 9 && count(tenant, "grant.failed") == 1);
        JsonNode failed = events(tenant, "grant.failed").get(0);
        JsonNode data = failed.path("data");
        assertThat(data.path("email").asText()).isEqualTo(refused);
        assertThat(data.path("error").path("http_status").asInt()).isEqualTo(400);
        assertThat(data.path("error").path("type").asText()).isNotBlank();
        assertThat(data.path("error").path("message").asText()).isNotBlank();
        assertThat(events(tenant, "grant.created")).extracting(e -> e.path("data").path("email").asText())
                .containsExactlyInAnyOrderElementsOf(mailboxes.stream().filter(m -> !m.equals(refused)).toList());

        // A 400 cannot get better by asking again: exactly one call for that mailbox.
        await().during(Duration.ofSeconds(2)).atMost(WAIT).until(() -> grantCallsFor(refused).size() == 1);

        // The operator's view agrees with the events.
        HttpResponse<String> status = bridge.get(bridge.managementUri("/onboarding/" + tenant), BridgeUnderTest.ADMIN_TOKEN);
        assertThat(status.statusCode()).isEqualTo(200);
        JsonNode counts = json(status.body()).path("mailboxes");
        assertThat(counts.path("granted").asInt()).isEqualTo(9);
        assertThat(counts.path("failed").asInt()).isEqualTo(1);
        assertThat(counts.path("pending").asInt()).isZero();
    }

    @Test
    void retryAfterIsWaitedForBeforeTheNextAttempt() {
        String tenant = "faults-retry-after";
        String email = "grace@faults-retry-after.example.com";
        String consentUrl = onboard(tenant, List.of(email));

        // RecordedRequest carries no time: a matcher that never matches notes when each grant call arrives.
        List<Long> arrivals = new CopyOnWriteArrayList<>();
        bridge.nylas.failWhen(r -> {
            if (isGrantCallFor(r, email)) {
                arrivals.add(System.nanoTime());
            }
            return false;
        }, 500);
        bridge.nylas.failNext(CUSTOM, 1, 429, 2);
        consent(consentUrl);

        awaitOne(tenant, "grant.created");
        assertThat(arrivals).hasSize(2);
        long waitedMs = Duration.ofNanos(arrivals.get(1) - arrivals.get(0)).toMillis();
        // Retry-After: 2 (s). Without it the configured backoff would be ~50 ms.
        assertThat(waitedMs).as("ms between the 429 and the next attempt").isGreaterThanOrEqualTo(1800);
        assertThat(count(tenant, "grant.failed")).isZero();
    }

    @Test
    void aMailboxThatKeepsGetting503IsReportedOnceAfterTheLastRetry() {
        String tenant = "faults-503";
        List<String> mailboxes = List.of("a@faults-503.example.com", "b@faults-503.example.com", "c@faults-503.example.com");
        String unlucky = mailboxes.get(1);
        bridge.nylas.failWhen(r -> isGrantCallFor(r, unlucky), 503);

        consent(onboard(tenant, mailboxes));

        await().atMost(WAIT).until(() -> count(tenant, "grant.created") == 2 && count(tenant, "grant.failed") == 1);
        JsonNode data = events(tenant, "grant.failed").get(0).path("data");
        assertThat(data.path("email").asText()).isEqualTo(unlucky);
        assertThat(data.path("error").path("http_status").asInt()).isEqualTo(503);
        assertThat(data.path("error").path("type").asText()).isNotBlank();
        assertThat(events(tenant, "grant.created")).extracting(e -> e.path("data").path("email").asText())
                .containsExactlyInAnyOrder(mailboxes.get(0), mailboxes.get(2));
        // The first attempt and every redelivery, then nothing more, and a single failure event.
        await().during(Duration.ofSeconds(2)).atMost(WAIT)
                .until(() -> grantCallsFor(unlucky).size() == 1 + MAX_REDELIVERIES && count(tenant, "grant.failed") == 1);
    }

    @Test
    void credentialCreationFailingTwiceWith500StillIssuesExactlyOneLink() {
        String tenant = "faults-creds-500";
        bridge.nylas.failNext(CREDS, 2, 500);

        String consentUrl = onboard(tenant, List.of("linus@faults-creds-500.example.com"));

        await().during(Duration.ofSeconds(2)).atMost(WAIT).until(() -> consentUrls.events().stream()
                .filter(e -> tenant.equals(e.path("subject").asText())).count() == 1);
        List<RecordedRequest> credentialCalls = bridge.nylas.requests("POST", CREDS).stream()
                .filter(r -> r.json().path("name").asText().startsWith("consent-bridge/" + tenant + "/")).toList();
        assertThat(credentialCalls).hasSize(3);
        assertThat(bridge.nylas.credentials()).filteredOn(c -> c.name().startsWith("consent-bridge/" + tenant + "/")).hasSize(1);
        assertThat(dlq.events()).noneMatch(e -> tenant.equals(e.path("subject").asText()));

        // That one link works.
        consent(consentUrl);
        awaitOne(tenant, "grant.created");
    }

    @Test
    void aTenantWhoseCredentialNylasRefusedCanBeOnboardedAgain() {
        String tenant = "faults-refused-cred";
        bridge.nylas.failNext(CREDS, 1, 400);
        bridge.send("onboarding", tenant, "{\"request_id\":\"req-refused-1\",\"tenant_id\":\"" + tenant + "\","
                + "\"client_id\":\"azure-app\",\"client_secret\":\"mistyped\"}");
        JsonNode refused = dlq.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
        assertThat(refused.path("data").path("reason").asText()).isEqualTo("nylas rejected the credential");

        // No link was ever issued, so nothing can be denied or expire: a corrected request is the only way forward.
        bridge.send("onboarding", tenant, "{\"request_id\":\"req-refused-2\",\"tenant_id\":\"" + tenant + "\","
                + "\"client_id\":\"azure-app\",\"client_secret\":\"corrected\"}");
        await().atMost(WAIT).until(() -> consentUrls.events().stream().anyMatch(e -> tenant.equals(e.path("subject").asText()))
                || dlq.events().stream().filter(e -> tenant.equals(e.path("subject").asText())).count() > 1);
        assertThat(dlq.events()).filteredOn(e -> tenant.equals(e.path("subject").asText())).hasSize(1);
        JsonNode issued = consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
        assertThat(issued.path("data").path("request_id").asText()).isEqualTo("req-refused-2");
    }

    // ---- helpers -----------------------------------------------------------------------------

    /** Sends an onboarding request and returns the consent link issued for it. */
    static String onboard(String tenant, List<String> mailboxes) {
        String list = String.join("\",\"", mailboxes);
        bridge.send("onboarding", tenant, "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant + "\","
                + "\"azure_tenant\":\"" + tenant + ".onmicrosoft.com\",\"mailboxes\":[\"" + list + "\"]}");
        JsonNode issued = consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText())
                && "consent.url.issued".equals(e.path("type").asText()), WAIT);
        return issued.path("data").path("consent_url").asText();
    }

    static void consent(String consentUrl) {
        HttpResponse<String> page = bridge.consentVia(consentUrl);
        assertThat(page.statusCode()).isEqualTo(200);
    }

    static List<JsonNode> events(String tenant, String type) {
        return results.events(type).stream().filter(e -> tenant.equals(e.path("subject").asText())).toList();
    }

    static long count(String tenant, String type) {
        return events(tenant, type).size();
    }

    static JsonNode awaitOne(String tenant, String type) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> count(tenant, type) >= 1);
        return events(tenant, type).get(0);
    }

    static boolean isGrantCallFor(RecordedRequest request, String email) {
        return request.method().equals("POST") && request.path().equals(CUSTOM)
                && email.equals(request.json().path("settings").path("email_address").asText());
    }

    static List<RecordedRequest> grantCallsFor(String email) {
        return bridge.nylas.requests("POST", CUSTOM).stream().filter(r -> isGrantCallFor(r, email)).toList();
    }

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }
}
