package io.consentbridge.consent;

import io.consentbridge.ledger.ConsentLedger;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

import java.util.List;

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
        Message in = exchange.getMessage();
        String state = param(in, "state");
        String error = param(in, "error");
        String description = param(in, "error_description");
        String consent = param(in, "admin_consent");
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

    private static String param(Message in, String name) {
        Object value = in.getHeader(name);
        if (value instanceof List<?> list) {
            value = list.isEmpty() ? null : list.get(0);
        }
        if (value == null) {
            return null;
        }
        String text = value.toString();
        return text.length() > MAX_PARAM ? text.substring(0, MAX_PARAM) : text;
    }
}
