package io.consentbridge.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.nylas.NylasStandIn.RecordedRequest;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The whole flow against a real broker, the real HTTP server, H2 and the Nylas stand-in. */
class OnboardingFlowTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");

    @Test
    void requestToConsentToOneGrantPerMailbox() {
        bridge.send("onboarding", "contoso", """
                {"request_id":"req-0001","tenant_id":"contoso","provider":"microsoft",
                 "azure_tenant":"contoso.onmicrosoft.com","client_id":"azure-app-1","client_secret":"s3cr3t-azure-value",
                 "admin_email":"it-admin@contoso.com","mailboxes":["ada@contoso.com","Grace@Contoso.com","linus@contoso.com"]}""");

        JsonNode issued = consentUrls.awaitEvent(e -> "contoso".equals(e.path("subject").asText()), WAIT);
        assertThat(issued.path("type").asText()).isEqualTo("consent.url.issued");
        assertThat(issued.path("specversion").asText()).isEqualTo("1.0");
        assertThat(issued.path("source").asText()).isEqualTo("consent-bridge");
        JsonNode data = issued.path("data");
        assertThat(data.path("request_id").asText()).isEqualTo("req-0001");
        assertThat(data.path("tenant_id").asText()).isEqualTo("contoso");
        assertThat(data.path("expires_at").asText()).isNotBlank();
        String credentialId = data.path("credential_id").asText();
        assertThat(credentialId).isNotBlank();

        // The credential request, exactly as Nylas received it.
        List<RecordedRequest> creds = bridge.nylas.requests("POST", "/v3/connectors/microsoft/creds");
        assertThat(creds).hasSize(1);
        assertThat(creds.get(0).header("authorization")).isEqualTo("Bearer " + BridgeUnderTest.API_KEY);
        JsonNode credBody = creds.get(0).json();
        assertThat(credBody.path("credential_type").asText()).isEqualTo("adminconsent");
        assertThat(credBody.path("name").asText()).startsWith("consent-bridge/contoso/");
        assertThat(credBody.path("credential_data").path("client_id").asText()).isEqualTo("azure-app-1");
        assertThat(credBody.path("credential_data").path("client_secret").asText()).isEqualTo("s3cr3t-azure-value");
        assertThat(credBody.path("credential_data").path("tenant").asText()).isEqualTo("contoso.onmicrosoft.com");

        // The consent URL carries what Nylas needs.
        URI url = URI.create(data.path("consent_url").asText());
        Map<String, String> query = query(url);
        assertThat(url.getPath()).isEqualTo("/v3/connect/auth");
        assertThat(query).containsEntry("client_id", BridgeUnderTest.CLIENT_ID)
                .containsEntry("redirect_uri", bridge.callbackUri(null).toString())
                .containsEntry("response_type", "adminconsent")
                .containsEntry("provider", "microsoft")
                .containsEntry("credential_id", credentialId)
                .containsEntry("login_hint", "it-admin@contoso.com");
        assertThat(query.get("state")).hasSizeGreaterThanOrEqualTo(43).hasSizeLessThanOrEqualTo(256);

        // The admin consents: the browser follows the link, Nylas redirects to our callback.
        HttpResponse<String> page = bridge.consentVia(url.toString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Consent recorded");
        assertThat(page.headers().firstValue("content-type").orElse("")).startsWith("text/html");

        JsonNode granted = results.awaitEvent(e -> "consent.granted".equals(e.path("type").asText()), WAIT);
        assertThat(granted.path("data").path("mailbox_count").asInt()).isEqualTo(3);
        assertThat(granted.path("data").path("credential_id").asText()).isEqualTo(credentialId);

        List<JsonNode> grants = results.awaitEvents("grant.created", 3, WAIT);
        assertThat(grants).hasSize(3);
        assertThat(grants.stream().map(g -> g.path("data").path("email").asText()).collect(Collectors.toSet()))
                .isEqualTo(Set.of("ada@contoso.com", "grace@contoso.com", "linus@contoso.com"));
        for (JsonNode grant : grants) {
            assertThat(grant.path("data").path("grant_id").asText()).isNotBlank();
            assertThat(grant.path("data").path("grant_status").asText()).isEqualTo("valid");
            assertThat(grant.path("data").path("scope").isArray()).isTrue();
            assertThat(grant.path("data").path("credential_id").asText()).isEqualTo(credentialId);
            assertThat(grant.path("data").path("request_id").asText()).isEqualTo("req-0001");
        }

        // One grant call per mailbox, each exactly the Microsoft bulk-auth body.
        List<RecordedRequest> custom = bridge.nylas.requests("POST", "/v3/connect/custom");
        assertThat(custom).hasSize(3);
        for (RecordedRequest call : custom) {
            assertThat(call.header("authorization")).isEqualTo("Bearer " + BridgeUnderTest.API_KEY);
            JsonNode body = call.json();
            assertThat(body.path("provider").asText()).isEqualTo("microsoft");
            assertThat(body.path("settings").path("credential_id").asText()).isEqualTo(credentialId);
            assertThat(body.size()).isEqualTo(2);
            assertThat(body.path("settings").size()).isEqualTo(2);
        }

        // Every record is keyed by tenant.
        for (ConsumerRecord<String, String> record : results.records()) {
            assertThat(record.key()).isEqualTo("contoso");
        }
        // No secret left the bundle.
        assertThat(consentUrls.records().toString() + results.records()).doesNotContain("s3cr3t-azure-value", BridgeUnderTest.API_KEY);

        // Every record consumed has its offset committed (asynchronously, with a later poll), and no
        // grant work is left in the ledger: a restart would not read the request or call Nylas again.
        bridge.awaitConsumed("onboarding");
        bridge.awaitGrantWorkDone();

        // The operator's view.
        HttpResponse<String> status = bridge.get(bridge.managementUri("/onboarding/contoso"), BridgeUnderTest.ADMIN_TOKEN);
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(status.body()).contains("\"consent_status\":\"granted\"").contains("\"granted\":3");
        assertThat(bridge.get(bridge.managementUri("/onboarding/contoso"), null).statusCode()).isEqualTo(401);
        assertThat(bridge.get(bridge.managementUri("/onboarding/contoso"), "wrong").statusCode()).isEqualTo(401);
        assertThat(bridge.get(bridge.managementUri("/onboarding/nobody"), BridgeUnderTest.ADMIN_TOKEN).statusCode()).isEqualTo(404);
    }

    static Map<String, String> query(URI uri) {
        Map<String, String> params = new HashMap<>();
        for (String pair : uri.getRawQuery().split("&")) {
            String[] kv = pair.split("=", 2);
            params.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
        }
        return params;
    }
}
