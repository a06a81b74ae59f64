package io.consentbridge.inbound;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InboundRequestsTest {
    final InboundRequests inbound = new InboundRequests();
    final Exchange exchange = new DefaultExchange(new DefaultCamelContext());

    @Test
    void aFullRequestParses() {
        OnboardingRequest request = inbound.parseOnboarding("""
                {"request_id":"req-1","tenant_id":"contoso","provider":"microsoft","azure_tenant":"contoso.onmicrosoft.com",
                 "client_id":"app","client_secret":"s","admin_email":"it@contoso.com",
                 "mailboxes":["Ada@Contoso.com","ada@contoso.com","grace@contoso.com"]}""", exchange);
        assertThat(request.mailboxes()).containsExactly("ada@contoso.com", "grace@contoso.com");
        assertThat(request.clientSecret()).isEqualTo("s");
        assertThat(request.toString()).doesNotContain("\"s\"").doesNotContain("client_secret");
        assertThat(exchange.getProperty(InboundRequests.TENANT_ID)).isEqualTo("contoso");
    }

    @Test
    void theMinimalRequestParses() {
        OnboardingRequest request = inbound.parseOnboarding("{\"request_id\":\"r\",\"tenant_id\":\"t\"}", exchange);
        assertThat(request.mailboxes()).isEmpty();
        assertThat(request.azureTenant()).isNull();
    }

    @Test
    void commonIsRejectedInAnyCase() {
        for (String common : new String[]{"common", "COMMON", "Common"}) {
            assertThatThrownBy(() -> inbound.parseOnboarding("{\"request_id\":\"r\",\"tenant_id\":\"t\",\"azure_tenant\":\"" + common + "\"}", exchange))
                    .isInstanceOf(RejectedInputException.class);
        }
        inbound.parseOnboarding("{\"request_id\":\"r\",\"tenant_id\":\"t\",\"azure_tenant\":\"commonwealth.onmicrosoft.com\"}", exchange);
    }

    @Test
    void secretsAreMaskedInTheOriginalJsonOrNot() {
        JsonNode json = (JsonNode) inbound.redactedOriginal("{\"tenant_id\":\"t\",\"client_secret\":\"abc\",\"nested\":{\"api_key\":\"k\"}}");
        assertThat(json.path("client_secret").asText()).isEqualTo("***");
        assertThat(json.path("nested").path("api_key").asText()).isEqualTo("***");
        assertThat(json.path("tenant_id").asText()).isEqualTo("t");
        // Broken input that names a secret is withheld whole; other broken input is kept as it came.
        String raw = (String) inbound.redactedOriginal("{\"tenant_id\":\"t\", \"client_secret\" : \"abc\\\"def\", broken");
        assertThat(raw).doesNotContain("abc").contains("withheld");
        assertThat(inbound.redactedOriginal("{\"tenant_id\":\"t\", broken")).isEqualTo("{\"tenant_id\":\"t\", broken");
        // A secret given as a list, an object, or inside a double-encoded JSON string.
        JsonNode odd = (JsonNode) inbound.redactedOriginal("{\"client_secret\":[\"a\"],\"password\":{\"v\":\"b\"},\"x\":\"{\\\"client_secret\\\":\\\"c\\\"}\"}");
        assertThat(odd.toString()).doesNotContain("\"a\"", "\"b\"", "\\\"c\\\"");
    }

    @Test
    void theSecretsExpiryIsAnRfc3339TimeBesideASecret() {
        inbound.parseOnboarding("{\"request_id\":\"r\",\"tenant_id\":\"t\",\"client_id\":\"app\",\"client_secret\":\"s\","
                + "\"client_secret_expires_at\":\"2027-06-01T00:00:00Z\"}", exchange);
        assertThatThrownBy(() -> inbound.parseOnboarding("{\"request_id\":\"r\",\"tenant_id\":\"t\",\"client_id\":\"app\",\"client_secret\":\"s\","
                + "\"client_secret_expires_at\":\"next june\"}", exchange)).isInstanceOf(RejectedInputException.class);
        assertThatThrownBy(() -> inbound.parseOnboarding("{\"request_id\":\"r\",\"tenant_id\":\"t\","
                + "\"client_secret_expires_at\":\"2027-06-01T00:00:00Z\"}", exchange)).isInstanceOf(RejectedInputException.class);
    }
}
