package io.consentbridge.ops;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * {@code ADMIN_TOKEN} as a request presents it: {@code Authorization: Bearer <token>} (scripts), or
 * HTTP Basic with the token as the password and any user name (a browser, which cannot send a
 * Bearer header by itself). Compared as SHA-256 digests in constant time, so neither the content
 * nor the length of the token shows in the answer's timing.
 */
final class AdminCredentials {
    private final byte[] expected;

    AdminCredentials(String adminToken) {
        this.expected = adminToken == null || adminToken.isBlank() ? null : digest(adminToken);
    }

    /** False when no token is configured: the endpoints that need one are not there at all. */
    boolean configured() {
        return expected != null;
    }

    /** {@code Authorization: Bearer <token>}. */
    boolean bearer(String authorization) {
        return expected != null && authorization != null && authorization.startsWith("Bearer ")
                && MessageDigest.isEqual(expected, digest(authorization.substring("Bearer ".length())));
    }

    /** A Bearer token, or HTTP Basic with the token as the password (any user name). */
    boolean bearerOrBasic(String authorization) {
        if (bearer(authorization)) {
            return true;
        }
        if (expected == null || authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return false;
        }
        String pair;
        try {
            pair = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return false;
        }
        int colon = pair.indexOf(':');
        return colon >= 0 && MessageDigest.isEqual(expected, digest(pair.substring(colon + 1)));
    }

    private static byte[] digest(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
