package io.consentbridge.lifecycle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.events.EventSchemas;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.Notifications;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Grant health (contract §3, §5), end to end: signed notifications on the public port, expiry
 * handled by cause with the stand-in answering re-authentications as Nylas would, and the
 * reconciliation with Nylas's list. Events are checked against their published schemas.
 */
class GrantHealthTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String SECRET = "whsec-test-9d2f";
    static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest()
            .with("nylas.webhook-secret", SECRET)
            .with("reconcile.interval", "PT0S")
            // The 2,000-mailbox flood is granted and restored at this pace; the cap itself is tested elsewhere.
            .with("nylas.max-requests-per-second", "200");
    static final TopicReader urls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");
    static final TopicReader dlq = bridge.reader("dlq");

    static List<JsonNode> eventsOf(String type, String tenant) {
        List<JsonNode> found = results.events(type).stream().filter(e -> tenant.equals(e.path("subject").asText())).toList();
        found.forEach(e -> assertThat(EventSchemas.problems(type, e.path("data"))).as("%s against its schema", e).isEmpty());
        return found;
    }

    static List<JsonNode> awaitEventsOf(String type, String tenant, int count) {
        await().atMost(WAIT).until(() -> eventsOf(type, tenant).size() >= count);
        return eventsOf(type, tenant);
    }

    /** Onboards a tenant with n mailboxes, consents, waits for the grants; returns email -> grant id. */
    static Map<String, String> onboarded(String tenant, int n) {
        String mailboxes = IntStream.range(0, n).mapToObj(i -> "\"user" + i + "@" + tenant + ".example\"").collect(Collectors.joining(",", "[", "]"));
        bridge.send("onboarding", tenant, "{\"request_id\":\"onb-" + tenant + "\",\"tenant_id\":\"" + tenant + "\",\"mailboxes\":" + mailboxes + "}");
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + urls.awaitConsentState(tenant, WAIT)), null).statusCode()).isEqualTo(200);
        return awaitEventsOf("grant.created", tenant, n).stream()
                .collect(Collectors.toMap(e -> e.path("data").path("email").asText(), e -> e.path("data").path("grant_id").asText(), (a, b) -> a));
    }

    static String credentialOf(String tenant) {
        return eventsOf("consent.granted", tenant).get(0).path("data").path("credential_id").asText();
    }

    static long nylasCallsSince(int from) {
        return bridge.nylas.requests().size() - from;
    }

    @Test
    void theChallengeIsEchoedAsPlainText() {
        HttpResponse<String> answer = bridge.get(URI.create(Notifications.uri(bridge) + "?challenge=Xy-12_ab%20c"), null);
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).isEqualTo("Xy-12_ab c");
        assertThat(answer.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        assertThat(answer.headers().firstValue("cache-control")).hasValue("no-store");
        assertThat(bridge.get(URI.create(Notifications.uri(bridge) + "?challenge=" + "c".repeat(1025)), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(Notifications.uri(bridge), null).statusCode()).isEqualTo(400);
    }

    @Test
    void anExpiredGrantIsAnnouncedAndRestoredOnceAndBadSignaturesRecordNothing() {
        Map<String, String> grants = onboarded("alpine", 2);
        String email = "user0@alpine.example";
        bridge.nylas.expireGrant(email);
        String notification = Notifications.grantEvent("ntf-alpine-1", "grant.expired", grants.get(email), email, false);
        byte[] body = notification.getBytes(StandardCharsets.UTF_8);

        // Missing, wrong, or made with another secret: 401, and nothing is recorded (the real one is still new afterwards).
        assertThat(Notifications.post(bridge, body, null, null).statusCode()).isEqualTo(401);
        assertThat(Notifications.post(bridge, body, "00" + Notifications.sign(body, SECRET).substring(2), null).statusCode()).isEqualTo(401);
        assertThat(Notifications.post(bridge, body, Notifications.sign(body, "another-secret"), null).statusCode()).isEqualTo(401);
        // Signed over the gzip bytes: the signature of the unpacked JSON does not do.
        byte[] packed = Notifications.gzip(notification);
        assertThat(Notifications.post(bridge, packed, Notifications.sign(body, SECRET), "gzip").statusCode()).isEqualTo(401);
        assertThat(eventsOf("grant.expired", "alpine")).isEmpty();

        HttpResponse<String> accepted = Notifications.post(bridge, packed, Notifications.sign(packed, SECRET), "gzip");
        assertThat(accepted.statusCode()).isEqualTo(200);
        // Delivered again (Nylas delivers at least once): handled once.
        assertThat(Notifications.post(bridge, body, Notifications.sign(body, SECRET), null).statusCode()).isEqualTo(200);
        JsonNode expired = awaitEventsOf("grant.expired", "alpine", 1).get(0);
        assertThat(expired.path("data").path("grant_id").asText()).isEqualTo(grants.get(email));
        assertThat(expired.path("data").path("request_id").isNull()).isTrue();
        JsonNode restored = awaitEventsOf("grant.restored", "alpine", 1).get(0);
        assertThat(restored.path("data").path("grant_id").asText()).isEqualTo(grants.get(email));
        assertThat(bridge.nylas.grant(email).orElseThrow().valid()).isTrue();
        bridge.awaitIdle();
        assertThat(eventsOf("grant.expired", "alpine")).hasSize(1);
        assertThat(eventsOf("grant.restored", "alpine")).hasSize(1);

        // A grant the bridge never made, an unknown trigger, garbage that is signed: acknowledged or refused, never an event.
        assertThat(Notifications.postSigned(bridge, Notifications.expired("not-ours", "x@elsewhere.example"), SECRET).statusCode()).isEqualTo(200);
        assertThat(Notifications.postSigned(bridge, Notifications.grantEvent(UUID.randomUUID().toString(), "message.created", grants.get(email), email, false),
                SECRET).statusCode()).isEqualTo(200);
        assertThat(Notifications.postSigned(bridge, "not json", SECRET).statusCode()).isEqualTo(400);
        // Over the public port's body limit (16 KiB): refused before anything reads it.
        String big = "{\"id\":\"" + "x".repeat(20_000) + "\"}";
        assertThat(Notifications.postSigned(bridge, big, SECRET).statusCode()).isEqualTo(413);
        // A small gzip body that unpacks to more than 256 KiB: refused, nothing recorded.
        byte[] bomb = Notifications.gzip("{\"id\":\"" + "y".repeat(300_000) + "\"}");
        assertThat(Notifications.post(bridge, bomb, Notifications.sign(bomb, SECRET), "gzip").statusCode()).isEqualTo(413);
        assertThat(Notifications.post(bridge, new byte[0], Notifications.sign(new byte[0], SECRET), "gzip").statusCode()).isEqualTo(400);
    }

    @Test
    void deletedOutsideIsAnnouncedAndAReauthenticationRestores() {
        Map<String, String> grants = onboarded("bergen", 2);
        String gone = "user0@bergen.example";
        bridge.nylas.deleteGrantExternally(gone);
        assertThat(Notifications.postSigned(bridge, Notifications.grantEvent(UUID.randomUUID().toString(), "grant.deleted", grants.get(gone), gone, false),
                SECRET).statusCode()).isEqualTo(200);
        JsonNode deleted = awaitEventsOf("grant.deleted", "bergen", 1).get(0);
        assertThat(deleted.path("data").path("by").asText()).isEqualTo("nylas");
        assertThat(deleted.path("data").path("request_id").isNull()).isTrue();

        // Expired while the tenant's consent is revoked: the probe fails, one attention event...
        String other = "user1@bergen.example";
        String credential = credentialOf("bergen");
        bridge.nylas.revokeConsent(credential);
        bridge.nylas.expireGrant(other);
        Notifications.postSigned(bridge, Notifications.expired(grants.get(other), other), SECRET);
        awaitEventsOf("tenant.attention_needed", "bergen", 1);
        // ... then Nylas reports the grant re-authenticated (the admin fixed it at Microsoft): restored.
        bridge.nylas.restoreConsent(credential);
        assertThat(Notifications.postSigned(bridge, Notifications.grantEvent(UUID.randomUUID().toString(), "grant.updated", grants.get(other), other, true),
                SECRET).statusCode()).isEqualTo(200);
        JsonNode restored = awaitEventsOf("grant.restored", "bergen", 1).get(0);
        assertThat(restored.path("data").path("email").asText()).isEqualTo(other);
    }

    @Test
    void aFloodOfExpiriesAfterConsentWasRevokedCostsAFewCallsOneAttentionAndReconsentRestoresAll() throws Exception {
        int n = 2000;
        String tenant = "revokedco";
        Map<String, String> grants = onboarded(tenant, n);
        String credential = credentialOf(tenant);
        bridge.nylas.revokeConsent(credential);
        bridge.nylas.expireGrants(credential);
        int callsBefore = bridge.nylas.requests().size();

        List<Long> answerMillis = Collections.synchronizedList(new ArrayList<>());
        long first = System.nanoTime();
        ExecutorService senders = Executors.newFixedThreadPool(16);
        List<Future<Integer>> statuses = new ArrayList<>();
        for (Map.Entry<String, String> grant : grants.entrySet()) {
            statuses.add(senders.submit(() -> {
                long sent = System.nanoTime();
                int status = Notifications.postSigned(bridge, Notifications.expired(grant.getValue(), grant.getKey()), SECRET).statusCode();
                answerMillis.add((System.nanoTime() - sent) / 1_000_000);
                return status;
            }));
        }
        for (Future<Integer> status : statuses) {
            assertThat(status.get()).isEqualTo(200);
        }
        senders.shutdown();
        JsonNode attention = awaitEventsOf("tenant.attention_needed", tenant, 1).get(0);
        long toAttentionMs = (System.nanoTime() - first) / 1_000_000;
        assertThat(attention.path("data").path("cause").asText()).isEqualTo("consent_revoked");
        assertThat(attention.path("data").path("action").asText()).isEqualTo("reconsent");
        await().atMost(WAIT).until(() -> eventsOf("grant.expired", tenant).size() == n);
        bridge.awaitIdle();
        long calls = nylasCallsSince(callsBefore);
        assertThat(calls).as("Nylas calls spent on the flood").isLessThanOrEqualTo(5);
        assertThat(eventsOf("tenant.attention_needed", tenant)).hasSize(1);
        JsonNode status = JSON.readTree(bridge.get(bridge.managementUri("/onboarding/" + tenant), BridgeUnderTest.ADMIN_TOKEN).body());
        assertThat(status.path("consent_status").asText()).isEqualTo("needs_reconsent");
        assertThat(status.path("mailboxes").path("expired").asInt()).isEqualTo(n);

        // The action that fixes it: a reconsent; the admin consents; every mailbox is restored.
        bridge.send("commands", tenant, "{\"request_id\":\"rc-" + tenant + "\",\"tenant_id\":\"" + tenant + "\",\"command\":\"reconsent\"}");
        JsonNode link = await().atMost(WAIT).until(() -> urls.events("consent.url.issued").stream()
                .filter(e -> e.path("data").path("request_id").asText().equals("rc-" + tenant)).findFirst().orElse(null), e -> e != null);
        long reconsented = System.nanoTime();
        assertThat(bridge.consentVia(link.path("data").path("consent_url").asText()).statusCode()).isEqualTo(200);
        awaitEventsOf("grant.restored", tenant, n);
        long toRestoredMs = (System.nanoTime() - reconsented) / 1_000_000;
        assertThat(eventsOf("grant.restored", tenant).stream().map(e -> e.path("data").path("grant_id").asText()).collect(Collectors.toSet()))
                .containsExactlyInAnyOrderElementsOf(grants.values());
        List<Long> sorted = new ArrayList<>(answerMillis);
        Collections.sort(sorted);
        System.out.printf("flood of %d grant.expired: %d Nylas calls, first notification -> attention %d ms, answers p50 %d ms p99 %d ms max %d ms;"
                        + " consent -> %d restored %d ms%n", n, calls, toAttentionMs, sorted.get(n / 2), sorted.get(n * 99 / 100), sorted.get(n - 1),
                n, toRestoredMs);
    }

    @Test
    void anExpiredSecretAsksForARotationWhichRestoresEveryMailbox() {
        String tenant = "secretco";
        bridge.send("onboarding", tenant, "{\"request_id\":\"onb-secretco\",\"tenant_id\":\"secretco\",\"client_id\":\"azure-app-1\","
                + "\"client_secret\":\"old-secret-value\",\"mailboxes\":[\"a@secretco.example\",\"b@secretco.example\",\"c@secretco.example\"]}");
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + urls.awaitConsentState(tenant, WAIT)), null).statusCode()).isEqualTo(200);
        Map<String, String> grants = awaitEventsOf("grant.created", tenant, 3).stream()
                .collect(Collectors.toMap(e -> e.path("data").path("email").asText(), e -> e.path("data").path("grant_id").asText()));
        String credential = credentialOf(tenant);
        bridge.nylas.expireSecret(credential);
        bridge.nylas.expireGrants(credential);
        grants.forEach((email, id) -> Notifications.postSigned(bridge, Notifications.expired(id, email), SECRET));
        JsonNode attention = awaitEventsOf("tenant.attention_needed", tenant, 1).get(0);
        assertThat(attention.path("data").path("cause").asText()).isEqualTo("secret_invalid");
        assertThat(attention.path("data").path("action").asText()).isEqualTo("rotate_secret");
        assertThat(attention.path("data").path("error").path("message").asText()).contains("AADSTS7000222");

        bridge.send("commands", tenant, "{\"request_id\":\"rot-secretco\",\"tenant_id\":\"secretco\",\"command\":\"rotate_secret\","
                + "\"client_id\":\"azure-app-1\",\"client_secret\":\"new-secret-value\"}");
        awaitEventsOf("credential.rotated", tenant, 1);
        assertThat(awaitEventsOf("grant.restored", tenant, 3).stream().map(e -> e.path("data").path("grant_id").asText()))
                .containsExactlyInAnyOrderElementsOf(grants.values());
    }

    @Test
    void reconciliationFindsWhatNoNotificationSaid() {
        String tenant = "quietco";
        Map<String, String> grants = onboarded(tenant, 3);
        String invalid = "user1@quietco.example";
        String gone = "user2@quietco.example";
        bridge.nylas.expireGrant(invalid);
        bridge.nylas.deleteGrantExternally(gone);
        int before = bridge.nylas.requests().size();
        bridge.send("commands", tenant, "{\"request_id\":\"rec-quietco\",\"tenant_id\":\"quietco\",\"command\":\"reconcile\"}");
        JsonNode done = awaitEventsOf("reconciliation.completed", tenant, 1).get(0);
        assertThat(done.path("data").path("request_id").asText()).isEqualTo("rec-quietco");
        assertThat(done.path("data").path("checked").asInt()).isEqualTo(3);
        assertThat(done.path("data").path("in_sync").asInt()).isEqualTo(1);
        assertThat(done.path("data").path("expired").asInt()).isEqualTo(2);
        assertThat(done.path("data").path("missing").asInt()).isEqualTo(1);
        List<JsonNode> expired = awaitEventsOf("grant.expired", tenant, 2);
        assertThat(expired.stream().map(e -> e.path("data").path("request_id").asText())).containsOnly("rec-quietco");
        // Restored: the invalid one keeps its id; the one gone at Nylas comes back as a new grant.
        awaitEventsOf("grant.restored", tenant, 2);
        assertThat(bridge.nylas.grant(invalid).orElseThrow().id()).isEqualTo(grants.get(invalid));
        assertThat(bridge.nylas.grant(gone).orElseThrow().valid()).isTrue();
        List<NylasStandIn.RecordedRequest> listings = bridge.nylas.requests().subList(before, bridge.nylas.requests().size()).stream()
                .filter(r -> r.method().equals("GET") && r.path().equals("/v3/grants")).toList();
        assertThat(listings).isNotEmpty().allSatisfy(r -> assertThat(r.queryParam("limit")).isEqualTo("200"));
    }
}
