package io.consentbridge.nylas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.consentbridge.inbound.OnboardingRequest;
import io.consentbridge.ledger.GrantWork;
import org.apache.camel.Exchange;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Builds the bodies of the two Nylas calls (reference §1 and §3), for the route {@code nylas-call}.
 */
public class NylasCalls {
    /** Exchange properties the route {@code nylas-call} sends from; kept so a retry sends the same request. */
    public static final String PATH = "nylasPath";
    public static final String REQUEST_BODY = "nylasRequestBody";
    static final String CREDENTIALS_PATH = "/v3/connectors/microsoft/creds";
    static final String CUSTOM_AUTH_PATH = "/v3/connect/custom";

    private final ObjectMapper mapper;

    public NylasCalls(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * {@code POST /v3/connectors/microsoft/creds} with {@code credential_type: adminconsent}.
     * The name is derived from the request, so a repeat after a crash sends identical parameters
     * and Nylas hands back the credential it already made instead of a second one.
     */
    public void createCredential(OnboardingRequest request, Exchange exchange) {
        ObjectNode body = mapper.createObjectNode();
        body.put("name", credentialName(request.tenantId(), request.requestId()));
        body.put("credential_type", "adminconsent");
        ObjectNode data = body.putObject("credential_data");
        if (request.clientId() != null) {
            data.put("client_id", request.clientId());
            data.put("client_secret", request.clientSecret());
        }
        if (request.azureTenant() != null) {
            data.put("tenant", request.azureTenant());
        }
        prepare(exchange, CREDENTIALS_PATH, body);
    }

    /** {@code POST /v3/connect/custom}, the "Microsoft bulk auth" body: one call per mailbox. */
    public void createGrant(GrantWork work, Exchange exchange) {
        ObjectNode body = mapper.createObjectNode();
        body.put("provider", "microsoft");
        ObjectNode settings = body.putObject("settings");
        settings.put("email_address", work.email());
        settings.put("credential_id", work.credentialId());
        prepare(exchange, CUSTOM_AUTH_PATH, body);
    }

    public static String credentialName(String tenantId, String requestId) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(requestId.getBytes(StandardCharsets.UTF_8));
            return "consent-bridge/" + tenantId + "/" + HexFormat.of().formatHex(digest, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void prepare(Exchange exchange, String path, ObjectNode body) {
        exchange.setProperty(PATH, path);
        try {
            exchange.setProperty(REQUEST_BODY, mapper.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
