package io.consentbridge.consent;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Consent links and their {@code state}: 256 random bits, URL-safe (43 characters, well under
 * Nylas's 256), handed out once in the link and kept by the ledger only as a SHA-256 hash.
 */
public class ConsentLinks {
    public static final int MAX_STATE_LENGTH = 256;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String apiUri;
    private final String clientId;
    private final String redirectUri;
    private final Clock clock;
    private final Duration ttl;

    public ConsentLinks(String apiUri, String clientId, String redirectUri, Clock clock, Duration ttl) {
        this.apiUri = apiUri.endsWith("/") ? apiUri.substring(0, apiUri.length() - 1) : apiUri;
        this.clientId = clientId;
        this.redirectUri = redirectUri;
        this.clock = clock;
        this.ttl = ttl;
    }

    /**
     * A fresh link for the credential Nylas returned (reference §1): a new state, valid for
     * {@code consent.ttl} from now.
     */
    public ConsentLink forCredential(JsonNode credential, String adminEmail) {
        String credentialId = credential == null ? null : credential.path("id").asText(null);
        if (credentialId == null || credentialId.isBlank()) {
            throw new IllegalStateException("Nylas returned a credential without an id");
        }
        return issue(credentialId, adminEmail);
    }

    /** A fresh link for a credential the tenant already has. */
    public ConsentLink issue(String credentialId, String adminEmail) {
        String state = newState();
        Instant expiresAt = Instant.now(clock).plus(ttl).truncatedTo(ChronoUnit.SECONDS);
        return new ConsentLink(credentialId, state, url(credentialId, state, adminEmail), expiresAt);
    }

    public static String newState() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * True when {@code state} has the shape of a state this bundle hands out (43 URL-safe
     * characters). Anything else is refused without a ledger lookup.
     */
    public static boolean isWellFormed(String state) {
        if (state == null || state.length() != 43) {
            return false;
        }
        for (int i = 0; i < state.length(); i++) {
            char c = state.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    public static String hash(String state) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(state.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code GET /v3/connect/auth} for the admin's browser (reference §2). */
    public String url(String credentialId, String state, String adminEmail) {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("client_id", clientId);
        query.put("redirect_uri", redirectUri);
        query.put("response_type", "adminconsent");
        query.put("provider", "microsoft");
        query.put("credential_id", credentialId);
        query.put("state", state);
        if (adminEmail != null) {
            query.put("login_hint", adminEmail);
        }
        return apiUri + "/v3/connect/auth?" + query.entrySet().stream()
                .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
    }
}
