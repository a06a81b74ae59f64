package io.consentbridge.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import net.jqwik.api.Arbitraries;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** What an operator sees of a running fan-out (status endpoint) and the tenant list. */
class ProgressTest {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest().with("nylas.max-requests-per-second", "10").with("progress.log-interval-ms", "1000");
    static final TopicReader urls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");

    static JsonNode get(String path) throws Exception {
        return JSON.readTree(bridge.get(bridge.managementUri(path), BridgeUnderTest.ADMIN_TOKEN).body());
    }

    @Test
    void aRunningFanOutShowsHowFarHowFastAndWhenItEnds() throws Exception {
        int n = 50;
        String mailboxes = IntStream.range(0, n).mapToObj(i -> "\"u" + i + "@paced.example\"").collect(Collectors.joining(",", "[", "]"));
        bridge.send("onboarding", "paced", "{\"request_id\":\"req-paced\",\"tenant_id\":\"paced\",\"mailboxes\":" + mailboxes + "}");
        bridge.send("onboarding", "waiting-one", "{\"request_id\":\"req-waiting\",\"tenant_id\":\"waiting-one\"}");
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + urls.awaitConsentState("paced", WAIT)), null).statusCode()).isEqualTo(200);

        // At 10 calls a second the 50 grants take about five seconds: seen half-way.
        JsonNode progress = await().atMost(WAIT).until(() -> get("/onboarding/paced").path("progress"),
                p -> p.path("done").asInt() > 5 && p.path("done").asInt() < n);
        assertThat(progress.path("total").asInt()).isEqualTo(n);
        assertThat(progress.path("grants_per_second").asDouble()).isBetween(1.0, 15.0);
        assertThat(Instant.parse(progress.path("estimated_end").asText())).isAfter(Instant.now().minusSeconds(2))
                .isBefore(Instant.now().plusSeconds(60));
        await().atMost(WAIT).until(() -> results.events("grant.created").size() == n);
        await().atMost(WAIT).until(() -> get("/onboarding/paced").path("progress").isMissingNode());

        JsonNode granted = get("/onboarding?status=granted");
        assertThat(granted.path("tenants").findValuesAsText("tenant_id")).contains("paced").doesNotContain("waiting-one");
        JsonNode all = get("/onboarding?limit=1");
        assertThat(all.path("total").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(all.path("tenants")).hasSize(1);
        JsonNode second = get("/onboarding?limit=1&offset=1");
        assertThat(second.path("tenants").get(0).path("tenant_id").asText()).isNotEqualTo(all.path("tenants").get(0).path("tenant_id").asText());
        assertThat(bridge.get(bridge.managementUri("/onboarding?limit=0"), BridgeUnderTest.ADMIN_TOKEN).statusCode()).isEqualTo(400);
        // A mistyped state is a 400 that names the states, not an empty page that reads as "no tenant in it":
        // a few by hand (a case difference, a trailing space, markup) and 300 generated, near a state and not.
        List<String> statuses = Stream.concat(Stream.of("bogus", "Granted", "granted ", "<script>"),
                Stream.concat(Arbitraries.of(OperatorPage.STATUSES).sampleStream().limit(50),
                        Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(40),
                                Arbitraries.of(OperatorPage.STATUSES).map(state -> state + "x"),
                                Arbitraries.of(OperatorPage.STATUSES).map(state -> state.substring(1))).sampleStream().limit(250))).toList();
        for (String status : statuses) {
            HttpResponse<String> answer = bridge.get(bridge.managementUri("/onboarding?status=" + URLEncoder.encode(status, StandardCharsets.UTF_8)),
                    BridgeUnderTest.ADMIN_TOKEN);
            if (OperatorPage.STATUSES.contains(status)) {
                assertThat(answer.statusCode()).as(status).isEqualTo(200);
            } else {
                assertThat(answer.statusCode()).as(status).isEqualTo(400);
                assertThat(answer.body()).contains("needs_reconsent").doesNotContain("<script>");
            }
        }
        assertThat(bridge.get(bridge.managementUri("/onboarding"), null).statusCode()).isEqualTo(401);
    }
}
