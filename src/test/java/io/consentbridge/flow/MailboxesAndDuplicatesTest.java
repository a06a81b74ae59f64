package io.consentbridge.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Redelivered requests, later mailboxes, and links that run out. */
class MailboxesAndDuplicatesTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest().with("consent.ttl", "PT6S");
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");

    static long count(TopicReader reader, String type, String tenant) {
        return reader.events().stream().filter(e -> type.equals(e.path("type").asText()) && tenant.equals(e.path("subject").asText())).count();
    }

    /** "request_id email" of each outcome of this type for the tenant, sorted. */
    static List<String> outcomes(String type, String tenant) {
        return results.events(type).stream().filter(e -> tenant.equals(e.path("subject").asText()))
                .map(e -> e.path("data").path("request_id").asText() + " " + e.path("data").path("email").asText()).sorted().toList();
    }

    static List<String> grantCallsFor(String domain) {
        return bridge.nylas.requests("POST", "/v3/connect/custom").stream()
                .map(r -> r.json().path("settings").path("email_address").asText())
                .filter(email -> email.endsWith("@" + domain + ".com")).toList();
    }

    /**
     * Contract §2: every request that asks for a mailbox gets its own outcome, also when another
     * request asked for it first (while it waits for consent, or once it is granted); Nylas is
     * still called once per mailbox.
     */
    @Test
    void eachRequestThatAsksForAMailboxGetsItsOwnOutcome() {
        bridge.send("onboarding", "many", "{\"request_id\":\"req-many-1\",\"tenant_id\":\"many\",\"mailboxes\":[\"ada@many.com\",\"bob@many.com\"]}");
        JsonNode issued = consentUrls.awaitEvent(e -> "many".equals(e.path("subject").asText()), WAIT);
        // Before consent, a second request asks for ada again and for carol.
        NotifyBuilder secondRequest = new NotifyBuilder(bridge.context()).fromRoute("mailbox-requests").whenDone(1).create();
        bridge.send("mailboxes", "many", "{\"request_id\":\"req-many-2\",\"tenant_id\":\"many\",\"mailboxes\":[\"ada@many.com\",\"carol@many.com\"]}");
        assertThat(secondRequest.matches(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        bridge.consentVia(issued.path("data").path("consent_url").asText());
        await().atMost(WAIT).until(() -> count(results, "grant.created", "many") == 4);
        // After the grant, a third request asks for ada once more: told at once, with the same grant.
        bridge.send("mailboxes", "many", "{\"request_id\":\"req-many-3\",\"tenant_id\":\"many\",\"mailboxes\":[\"ada@many.com\"]}");
        await().atMost(WAIT).until(() -> count(results, "grant.created", "many") == 5);
        bridge.awaitIdle();

        List<JsonNode> created = results.events("grant.created").stream().filter(e -> "many".equals(e.path("subject").asText())).toList();
        assertThat(outcomes("grant.created", "many"))
                .containsExactly("req-many-1 ada@many.com", "req-many-1 bob@many.com", "req-many-2 ada@many.com",
                        "req-many-2 carol@many.com", "req-many-3 ada@many.com");
        assertThat(created.stream().filter(e -> e.path("data").path("email").asText().equals("ada@many.com"))
                .map(e -> e.path("data").path("grant_id").asText()).distinct()).hasSize(1);
        assertThat(created).allSatisfy(e -> assertThat(e.path("data").path("scope").isArray()).isTrue());
        assertThat(grantCallsFor("many")).hasSize(3);
    }

    @Test
    void theSameRequestDeliveredTwiceMakesOneCredentialAndNoDuplicateGrants() {
        String request = "{\"request_id\":\"req-dup\",\"tenant_id\":\"dup\",\"mailboxes\":[\"a@dup.com\",\"b@dup.com\"]}";
        bridge.send("onboarding", "dup", request);
        bridge.send("onboarding", "dup", request);
        JsonNode issued = consentUrls.awaitEvent(e -> "dup".equals(e.path("subject").asText()), WAIT);
        bridge.awaitIdle();
        assertThat(count(consentUrls, "consent.url.issued", "dup")).isEqualTo(1);
        assertThat(bridge.nylas.requests("POST", "/v3/connectors/microsoft/creds").stream()
                .filter(r -> r.json().path("name").asText().startsWith("consent-bridge/dup/"))).hasSize(1);

        bridge.consentVia(issued.path("data").path("consent_url").asText());
        await().atMost(WAIT).until(() -> count(results, "grant.created", "dup") == 2);
        // The same request again after consent, and the same mailboxes asked for again.
        bridge.send("onboarding", "dup", request);
        bridge.send("mailboxes", "dup", "{\"request_id\":\"mbx-dup\",\"tenant_id\":\"dup\",\"mailboxes\":[\"a@dup.com\",\"B@dup.com\"]}");
        bridge.send("mailboxes", "dup", "{\"request_id\":\"mbx-dup\",\"tenant_id\":\"dup\",\"mailboxes\":[\"a@dup.com\",\"B@dup.com\"]}");
        bridge.awaitIdle();
        assertThat(grantCallsFor("dup")).containsExactlyInAnyOrder("a@dup.com", "b@dup.com");
        // No new grant; the mailbox request, delivered twice, is told once per mailbox that they are granted.
        assertThat(outcomes("grant.created", "dup"))
                .containsExactly("mbx-dup a@dup.com", "mbx-dup b@dup.com", "req-dup a@dup.com", "req-dup b@dup.com");
        assertThat(count(results, "consent.granted", "dup")).isEqualTo(1);
    }

    @Test
    void mailboxesWaitForConsentAndAreGrantedAtOnceAfterIt() {
        bridge.send("onboarding", "later", "{\"request_id\":\"req-later\",\"tenant_id\":\"later\",\"mailboxes\":[\"first@later.com\"]}");
        JsonNode issued = consentUrls.awaitEvent(e -> "later".equals(e.path("subject").asText()), WAIT);
        bridge.send("mailboxes", "later", "{\"request_id\":\"mbx-1\",\"tenant_id\":\"later\",\"mailboxes\":[\"second@later.com\"]}");
        bridge.awaitIdle();
        assertThat(grantCallsFor("later")).isEmpty();

        bridge.consentVia(issued.path("data").path("consent_url").asText());
        JsonNode granted = results.awaitEvent(e -> "consent.granted".equals(e.path("type").asText()) && "later".equals(e.path("subject").asText()), WAIT);
        assertThat(granted.path("data").path("mailbox_count").asInt()).isEqualTo(2);
        results.awaitEvent(e -> "grant.created".equals(e.path("type").asText()) && "second@later.com".equals(e.path("data").path("email").asText()), WAIT);

        bridge.send("mailboxes", "later", "{\"request_id\":\"mbx-2\",\"tenant_id\":\"later\",\"mailboxes\":[\"third@later.com\"]}");
        JsonNode third = results.awaitEvent(e -> "grant.created".equals(e.path("type").asText()) && "third@later.com".equals(e.path("data").path("email").asText()), WAIT);
        assertThat(third.path("data").path("request_id").asText()).isEqualTo("mbx-2");
        assertThat(grantCallsFor("later")).containsExactlyInAnyOrder("first@later.com", "second@later.com", "third@later.com");
    }

    @Test
    void anExpiredLinkIsAnnouncedOnceAndNoLongerWorks() {
        bridge.send("onboarding", "slow", "{\"request_id\":\"req-slow\",\"tenant_id\":\"slow\"}");
        JsonNode issued = consentUrls.awaitEvent(e -> "slow".equals(e.path("subject").asText()), WAIT);
        JsonNode expired = results.awaitEvent(e -> "consent.expired".equals(e.path("type").asText()) && "slow".equals(e.path("subject").asText()), WAIT);
        assertThat(expired.path("data").path("expires_at").asText()).isEqualTo(issued.path("data").path("expires_at").asText());
        assertThat(expired.path("data").path("credential_id").asText()).isEqualTo(issued.path("data").path("credential_id").asText());

        String state = OnboardingFlowTest.query(URI.create(issued.path("data").path("consent_url").asText())).get("state");
        NotifyBuilder twoMoreExpiryRounds = new NotifyBuilder(bridge.context()).fromRoute("consent-expiry").whenDone(2).create();
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + CallbackTest.enc(state)), null).statusCode()).isEqualTo(400);
        // A second announcement could only come from a later expiry round.
        assertThat(twoMoreExpiryRounds.matches(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        bridge.awaitPublished();
        assertThat(count(results, "consent.expired", "slow")).isEqualTo(1);
        assertThat(count(results, "consent.granted", "slow")).isZero();

        // An expired tenant may be onboarded again, with a new link.
        bridge.send("onboarding", "slow", "{\"request_id\":\"req-slow-2\",\"tenant_id\":\"slow\"}");
        consentUrls.awaitEvent(e -> "req-slow-2".equals(e.path("data").path("request_id").asText()), WAIT);
    }
}
