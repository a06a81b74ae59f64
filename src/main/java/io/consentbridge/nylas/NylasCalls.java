package io.consentbridge.nylas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.consentbridge.inbound.AdminCommand;
import io.consentbridge.inbound.OnboardingRequest;
import io.consentbridge.grants.GrantWork;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Builds the request bodies of the Nylas calls (reference §1 and §3). The routes name the method
 * and path of each call; the route {@code nylas-call} sends it.
 */
public class NylasCalls {
    /** Exchange properties the route {@code nylas-call} sends from; kept so a retry sends the same request. */
    public static final String METHOD = "nylasMethod";
    public static final String PATH = "nylasPath";
    public static final String REQUEST_BODY = "nylasRequestBody";

    private final ObjectMapper mapper;

    public NylasCalls(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * {@code POST /v3/connectors/microsoft/creds} with {@code credential_type: adminconsent}.
     * The name is derived from the request, so a repeat after a crash sends identical parameters
     * and Nylas hands back the credential it already made instead of a second one.
     */
    public String credentialBody(OnboardingRequest request) {
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
        return json(body);
    }

    /** {@code POST /v3/connect/custom}, the "Microsoft bulk auth" body: one call per mailbox. */
    public String grantBody(GrantWork work) {
        ObjectNode body = mapper.createObjectNode();
        body.put("provider", "microsoft");
        ObjectNode settings = body.putObject("settings");
        settings.put("email_address", work.email());
        settings.put("credential_id", work.credentialId());
        return json(body);
    }

    /**
     * {@code PATCH /v3/connectors/microsoft/creds/{id}}: Nylas replaces {@code credential_data} as
     * a whole (reference §9), so the new client id and secret go together, with the tenant's Azure
     * tenant when it gave one.
     */
    public String rotationBody(AdminCommand command, String azureTenant) {
        ObjectNode body = mapper.createObjectNode();
        ObjectNode data = body.putObject("credential_data");
        data.put("client_id", command.clientId());
        data.put("client_secret", command.clientSecret());
        if (azureTenant != null) {
            data.put("tenant", azureTenant);
        }
        return json(body);
    }

    public static String credentialName(String tenantId, String requestId) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(requestId.getBytes(StandardCharsets.UTF_8));
            return "consent-bridge/" + tenantId + "/" + HexFormat.of().formatHex(digest, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private String json(ObjectNode body) {
        try {
            return mapper.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
