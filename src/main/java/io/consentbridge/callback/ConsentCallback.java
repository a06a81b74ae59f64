package io.consentbridge.callback;

import io.consentbridge.consent.CallbackOutcome;
import io.consentbridge.ledger.ConsentLedger;
import org.apache.camel.Exchange;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads the redirect that Nylas sends the admin's browser back with (reference §2, U1: parsed
 * tolerantly): {@code admin_consent} in any case, or an OAuth {@code error}; other parameters such
 * as {@code tenant}, {@code scope} and {@code error_code} are ignored.
 */
public class ConsentCallback {
    /** Longest value accepted for error and error_description; longer ones are cut. */
    static final int MAX_PARAM = 2048;
    private final ConsentLedger ledger;

    public ConsentCallback(ConsentLedger ledger) {
        this.ledger = ledger;
    }

    public CallbackOutcome handle(Exchange exchange) {
        // The query string only (contract §3): platform-http also maps request headers to message
        // headers, and a request header "state" or "error" must not stand in for the URL's.
        Map<String, String> query = query(exchange.getMessage().getHeader(Exchange.HTTP_RAW_QUERY, String.class));
        String state = query.get("state");
        String error = query.get("error");
        String description = query.get("error_description");
        String consent = query.get("admin_consent");
        exchange.setProperty("callbackError", error);
        exchange.setProperty("callbackErrorDescription", description);
        if (error != null && !error.isBlank()) {
            return ledger.useState(state, false, error, description);
        }
        if (consent != null && consent.trim().equalsIgnoreCase("true")) {
            return ledger.useState(state, true, null, null);
        }
        return CallbackOutcome.invalid();
    }

    /** The first value of each parameter of a raw query string, decoded, each cut to {@link #MAX_PARAM}. */
    static Map<String, String> query(String raw) {
        Map<String, String> params = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            if (name == null || params.containsKey(name)) {
                continue;
            }
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (value != null) {
                params.put(name, cut(value));
            }
        }
        return params;
    }

    /** At most {@link #MAX_PARAM} characters, never half of a surrogate pair (it would be no text at all). */
    static String cut(String value) {
        if (value.length() <= MAX_PARAM) {
            return value;
        }
        int end = Character.isHighSurrogate(value.charAt(MAX_PARAM - 1)) ? MAX_PARAM - 1 : MAX_PARAM;
        return value.substring(0, end);
    }

    /** Percent- and plus-decoding; null for a malformed escape (the parameter is then ignored). */
    private static String decode(String text) {
        try {
            return URLDecoder.decode(text, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException malformed) {
            return null;
        }
    }
}
