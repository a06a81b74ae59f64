package io.consentbridge.ops;

import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The bundle's own metrics at /observe/metrics count a whole flow, as Prometheus scrapes them. */
class MetricsTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest().with("metrics.refresh-interval-ms", "300");
    static final TopicReader urls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");
    static final TopicReader dlq = bridge.reader("dlq");

    static String scrape() {
        return bridge.get(bridge.managementUri("/observe/metrics"), null).body();
    }

    /** The value of one sample, e.g. {@code consentbridge_events_published_total{type="grant.created"}}; -1 when absent. */
    static double sample(String text, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{([^}]*)\\})? ([0-9.eE+-]+)$").matcher(text);
        while (m.find()) {
            if (labels == null || (m.group(1) != null && m.group(1).contains(labels))) {
                return Double.parseDouble(m.group(2));
            }
        }
        return -1;
    }

    @Test
    void aWholeFlowIsCounted() {
        bridge.nylas.failNext("/v3/connect/custom", 1, 429);
        bridge.send("onboarding", "metered", "{\"request_id\":\"req-metered\",\"tenant_id\":\"metered\",\"mailboxes\":[\"a@metered.example\",\"b@metered.example\",\"c@metered.example\"]}");
        bridge.send("onboarding", "metered-bad", "{\"request_id\":\"req-bad\",\"tenant_id\":\"metered-bad\",\"unexpected\":1}");
        String state = urls.awaitConsentState("metered", WAIT);
        // A link nobody has opened yet: the oldest pending consent has an age.
        await().atMost(WAIT).until(() -> sample(scrape(), "consentbridge_consent_oldest_pending_seconds", null) >= 0);
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + state), null).statusCode()).isEqualTo(200);
        await().atMost(WAIT).until(() -> results.events("grant.created").size() == 3 && dlq.events().size() == 1);

        await().atMost(WAIT).untilAsserted(() -> {
            String text = scrape();
            assertThat(sample(text, "consentbridge_events_published_total", "type=\"grant.created\"")).isEqualTo(3.0);
            assertThat(sample(text, "consentbridge_events_published_total", "type=\"consent.granted\"")).isEqualTo(1.0);
            assertThat(sample(text, "consentbridge_events_published_total", "type=\"consent.url.issued\"")).isEqualTo(1.0);
            assertThat(sample(text, "consentbridge_events_published_total", "type=\"request.rejected\"")).isEqualTo(1.0);
            assertThat(sample(text, "consentbridge_nylas_calls_total", "endpoint=\"POST /v3/connect/custom\",status=\"201\"")).isEqualTo(3.0);
            assertThat(sample(text, "consentbridge_nylas_calls_total", "endpoint=\"POST /v3/connect/custom\",status=\"429\"")).isEqualTo(1.0);
            assertThat(sample(text, "consentbridge_nylas_calls_total", "endpoint=\"POST /v3/connectors/microsoft/creds\",status=\"201\"")).isEqualTo(1.0);
            assertThat(sample(text, "consentbridge_nylas_rate_limited_total", "by=\"nylas\"")).isEqualTo(1.0);
            // Present before any 429 of its kind, so that an alert on it has a series to read.
            assertThat(sample(text, "consentbridge_nylas_rate_limited_total", "by=\"provider\"")).isEqualTo(0.0);
            assertThat(sample(text, "consentbridge_outbox_backlog", null)).isEqualTo(0.0);
            assertThat(sample(text, "consentbridge_grants_waiting", null)).isEqualTo(0.0);
            assertThat(sample(text, "consentbridge_inbound_in_progress", "topic=\"onboarding\"")).as("onboarding requests unfinished").isEqualTo(0.0);
            assertThat(sample(text, "consentbridge_inbound_in_progress", "topic=\"commands\"")).as("commands unfinished").isEqualTo(0.0);
            assertThat(sample(text, "consentbridge_tenants_attention_needed", "cause=\"consent_revoked\"")).isEqualTo(0.0);
            // The 429 halved the limit; the successes after it win it back one by one.
            assertThat(sample(text, "consentbridge_nylas_rate_limit", null)).isBetween(20.0, 40.0);
            assertThat(sample(text, "consentbridge_nylas_turns_missed_total", null)).as("turns missed").isGreaterThanOrEqualTo(0.0);
        });
    }
}
