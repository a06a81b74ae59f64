package io.consentbridge.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The consent callback as the admin's browser meets it. */
class CallbackTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");

    /** Onboards a tenant and returns the state of its consent link. */
    static String onboard(String tenant) {
        bridge.send("onboarding", tenant, "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant + "\",\"mailboxes\":[\"a@" + tenant + ".com\"]}");
        JsonNode issued = consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
        return OnboardingFlowTest.query(URI.create(issued.path("data").path("consent_url").asText())).get("state");
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Test
    void consentInAnyCaseWithExtraParametersIsRecordedOnceAndAReplayIsRefused() {
        String state = onboard("fabrikam");
        HttpResponse<String> page = bridge.get(bridge.callbackUri("admin_consent=True&tenant=fabrikam.onmicrosoft.com&scope=Mail.Read&state=" + enc(state)), null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Consent recorded");
        results.awaitEvent(e -> "consent.granted".equals(e.path("type").asText()) && "fabrikam".equals(e.path("subject").asText()), WAIT);

        HttpResponse<String> replay = bridge.get(bridge.callbackUri("admin_consent=true&state=" + enc(state)), null);
        assertThat(replay.statusCode()).isEqualTo(400);
        assertThat(replay.body()).contains("not valid");
        bridge.awaitPublished();
        assertThat(results.events("consent.granted").stream().filter(e -> "fabrikam".equals(e.path("subject").asText()))).hasSize(1);
    }

    @Test
    void unknownMissingOrMalformedStateIsRefusedWithoutAnEvent() {
        int before = results.events().size();
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=made-up-state"), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true"), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(bridge.callbackUri(null), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state="), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + "x".repeat(300)), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(bridge.callbackUri("error=access_denied&state=nope"), null).statusCode()).isEqualTo(400);
        bridge.awaitPublished();
        assertThat(results.events()).hasSize(before);
    }

    @Test
    void aValidStateWithNeitherConsentNorErrorIsRefusedAndStaysUsable() {
        String state = onboard("northwind");
        assertThat(bridge.get(bridge.callbackUri("state=" + enc(state)), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(bridge.callbackUri("admin_consent=false&state=" + enc(state)), null).statusCode()).isEqualTo(400);
        assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + enc(state)), null).statusCode()).isEqualTo(200);
    }

    @Test
    void aDeclineIsPublishedAndItsHostileDescriptionIsEscaped() {
        String state = onboard("tailspin");
        String hostile = "<script>alert('x')</script><img src=x onerror=\"steal()\"> & AADSTS65004";
        HttpResponse<String> page = bridge.get(bridge.callbackUri("error=access_denied&error_description=" + enc(hostile)
                + "&error_code=65004&state=" + enc(state)), null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Consent was declined")
                .doesNotContain("<script>").doesNotContain("<img")
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;&#47;script&gt;")
                .contains("&amp; AADSTS65004");
        assertThat(page.headers().firstValue("content-security-policy").orElse("")).contains("default-src 'none'");

        JsonNode denied = results.awaitEvent(e -> "consent.denied".equals(e.path("type").asText()) && "tailspin".equals(e.path("subject").asText()), WAIT);
        assertThat(denied.path("data").path("error").asText()).isEqualTo("access_denied");
        assertThat(denied.path("data").path("error_description").asText()).isEqualTo(hostile);
        assertThat(denied.path("data").path("credential_id").asText()).isNotBlank();
        // Declined: no grants for its mailboxes.
        bridge.awaitIdle();
        assertThat(bridge.nylas.requests("POST", "/v3/connect/custom")).noneMatch(r -> r.body().contains("@tailspin.com"));
    }

    @Test
    void theCallbackIsOnlyOnThePublicPortAndOnlyForGet() throws Exception {
        HttpResponse<String> post = HttpClient.newHttpClient().send(HttpRequest.newBuilder(bridge.callbackUri("admin_consent=true&state=x"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isIn(404, 405);
        assertThat(bridge.get(URI.create("http://localhost:" + bridge.httpPort + "/observe/health"), null).statusCode()).isEqualTo(404);
        assertThat(bridge.get(bridge.managementUri("/nylas/admin-consent/callback?admin_consent=true&state=x"), null).statusCode()).isEqualTo(404);
    }
}
