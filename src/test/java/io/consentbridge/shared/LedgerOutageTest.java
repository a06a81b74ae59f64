package io.consentbridge.shared;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.Notifications;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static io.consentbridge.shared.TwoInstancesTest.count;
import static io.consentbridge.shared.TwoInstancesTest.emailsOf;
import static io.consentbridge.shared.TwoInstancesTest.is;
import static io.consentbridge.shared.TwoInstancesTest.nylasRedirect;
import static io.consentbridge.shared.TwoInstancesTest.onboarding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The ledger database away for a while: records are retried, not dropped, and health says so. */
class LedgerOutageTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    // A server of its own: this test stops it, which must not disturb other tests using the shared one.
    static final LocalPostgres postgres = LocalPostgres.startNew();
    static final String WEBHOOK_SECRET = "whsec-outage-4c1a";
    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest(new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start(),
            null, postgres.createDatabase("outage")).with("ledger.user", LocalPostgres.USER).with("nylas.webhook-secret", WEBHOOK_SECRET);
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");
    static final TopicReader dlq = bridge.reader("dlq");

    @Test
    void databaseUnavailableForAWhileRecordsAreRetriedNotDroppedAndHealthTurns503() throws InterruptedException {
        // A tenant onboarded before the outage, consented after it.
        bridge.send("onboarding", "steady", onboarding("req-steady", "steady", List.of("first@steady.com")));
        JsonNode steadyLink = consentUrls.awaitEvent(e -> "steady".equals(e.path("subject").asText()), WAIT);
        URI steadyCallback = nylasRedirect(bridge, steadyLink.path("data").path("consent_url").asText());
        // A tenant with a grant before the outage: its grant expires while the ledger is away.
        bridge.send("onboarding", "early", onboarding("req-early", "early", List.of("only@early.com")));
        JsonNode earlyLink = consentUrls.awaitEvent(e -> "early".equals(e.path("subject").asText()), WAIT);
        assertThat(bridge.get(nylasRedirect(bridge, earlyLink.path("data").path("consent_url").asText()), null).statusCode()).isEqualTo(200);
        String earlyGrant = results.awaitEvent(e -> is(e, "grant.created", "early"), WAIT).path("data").path("grant_id").asText();
        String expiry = Notifications.expired(earlyGrant, "only@early.com");
        assertThat(health()).isEqualTo(200);

        long stopAt = System.nanoTime();
        postgres.stop();
        long stopped = System.nanoTime();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).until(() -> health() == 503);
        long unhealthy = System.nanoTime();

        // Work that arrives while the ledger is away.
        bridge.send("onboarding", "outage", onboarding("req-outage", "outage", List.of("a@outage.com")));
        bridge.send("mailboxes", "steady", "{\"request_id\":\"mbx-steady-2\",\"tenant_id\":\"steady\",\"mailboxes\":[\"late@steady.com\"]}");
        // The admin comes back meanwhile: told to try later, the link stays usable.
        HttpResponse<String> duringOutage = bridge.get(bridge.callbackUri(steadyCallback.getRawQuery()), null);
        assertThat(duringOutage.statusCode()).isEqualTo(503);
        // Nylas's notification cannot be recorded: 503, so Nylas delivers it again later.
        HttpResponse<String> notified = Notifications.postSigned(bridge, expiry, WEBHOOK_SECRET);
        assertThat(notified.statusCode()).isEqualTo(503);
        assertThat(notified.headers().firstValue("retry-after")).isPresent();

        // Down for at least 10 s in all (the waits above already count): the outage's length is what is
        // tested (retries must outlast it), so this waits for time itself.
        long downFor = Duration.ofSeconds(10).toNanos() - (System.nanoTime() - stopped);
        Thread.sleep(Math.max(0, downFor / 1_000_000));
        assertThat(consentUrls.events().stream().filter(e -> "outage".equals(e.path("subject").asText()))).isEmpty();
        long probeAt = System.nanoTime();
        int lateProbe = health();
        long probeMs = ms(System.nanoTime() - probeAt);
        assertThat(lateProbe).isEqualTo(503);

        long startAt = System.nanoTime();
        postgres.start();
        long started = System.nanoTime();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() -> health() == 200);
        long healthy = System.nanoTime();
        JsonNode issued = consentUrls.awaitEvent(e -> "outage".equals(e.path("subject").asText()), WAIT);
        long linkOut = System.nanoTime();
        assertThat(issued.path("type").asText()).isEqualTo("consent.url.issued");
        assertThat(issued.path("data").path("request_id").asText()).isEqualTo("req-outage");

        // The mailbox request sent during the outage was kept: once its consumer has retried it (the
        // ledger is back), the tenant has two mailboxes waiting, and both are granted on consent.
        await().atMost(WAIT).pollInterval(Duration.ofMillis(250)).until(() ->
                bridge.get(bridge.managementUri("/onboarding/steady"), BridgeUnderTest.ADMIN_TOKEN).body().contains("\"pending\":2"));
        HttpResponse<String> page = bridge.get(bridge.callbackUri(steadyCallback.getRawQuery()), null);
        assertThat(page.statusCode()).isEqualTo(200);
        JsonNode granted = results.awaitEvent(e -> is(e, "consent.granted", "steady"), WAIT);
        assertThat(granted.path("data").path("mailbox_count").asInt()).isEqualTo(2);
        await().atMost(WAIT).until(() -> emailsOf(results, "grant.created", "steady").size() == 2);
        assertThat(emailsOf(results, "grant.created", "steady")).containsExactlyInAnyOrder("first@steady.com", "late@steady.com");
        long grantsOut = System.nanoTime();
        // Delivered again once the ledger is back: recorded now, and announced once.
        assertThat(Notifications.postSigned(bridge, expiry, WEBHOOK_SECRET).statusCode()).isEqualTo(200);
        assertThat(Notifications.postSigned(bridge, expiry, WEBHOOK_SECRET).statusCode()).isEqualTo(200);
        results.awaitEvent(e -> is(e, "grant.expired", "early"), WAIT);

        System.out.printf("ledger outage: pg_ctl stop %d ms; health 503 after %d ms; down %d ms; pg_ctl start %d ms; "
                        + "health 200 %d ms after start; consent.url.issued %d ms after start; grants after consent %d ms; "
                        + "one health request during the outage took %d ms%n",
                ms(stopped - stopAt), ms(unhealthy - stopped), ms(startAt - stopped), ms(started - startAt),
                ms(healthy - started), ms(linkOut - started), ms(grantsOut - linkOut), probeMs);

        bridge.awaitIdle();
        // Retried, not repeated: one link, one credential; nothing rejected.
        assertThat(count(consentUrls, "consent.url.issued", "outage")).isEqualTo(1);
        assertThat(count(results, "grant.expired", "early")).isEqualTo(1);
        assertThat(bridge.nylas.requests("POST", "/v3/connectors/microsoft/creds").stream()
                .filter(r -> r.json().path("name").asText().startsWith("consent-bridge/outage/"))).hasSize(1);
        assertThat(count(results, "grant.created", "steady")).isEqualTo(2);
        assertThat(count(results, "consent.granted", "steady")).isEqualTo(1);
        assertThat(dlq.records()).as("DLQ records").isEmpty();
    }

    static int health() {
        try {
            return bridge.get(bridge.managementUri("/observe/health"), null).statusCode();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
