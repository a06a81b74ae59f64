package io.consentbridge.ledger;

import java.util.regex.Pattern;

/**
 * Ids Nylas hands out (grants, credentials) are kept and later put into request paths
 * ({@code /v3/grants/{id}}): only ids made of URL-safe characters are accepted, so no id can
 * change the path it is put into.
 */
public final class NylasIds {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._~-]{1,128}");

    private NylasIds() {
    }

    public static boolean isSafe(String id) {
        return id != null && SAFE.matcher(id).matches() && !id.equals(".") && !id.equals("..");
    }
}
