package io.consentbridge.ledger;

import java.util.List;

/**
 * A request the ledger will not take in the tenant's present state (an onboarding for a tenant
 * already onboarded, mailboxes for a tenant it does not know): the route sends it to the DLQ with
 * this reason.
 */
public class RequestRefusedException extends RuntimeException {
    private final String reason;
    private final List<String> errors;

    public RequestRefusedException(String reason, String error) {
        super(reason + ": " + error);
        this.reason = reason;
        this.errors = List.of(error);
    }

    public String reason() {
        return reason;
    }

    public List<String> errors() {
        return errors;
    }
}
