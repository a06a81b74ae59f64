package io.consentbridge.inbound;

import java.util.List;

/** An inbound record that can never be processed: it goes to the DLQ with this reason. */
public class RejectedInputException extends RuntimeException {
    private final String reason;
    private final List<String> errors;

    public RejectedInputException(String reason, List<String> errors) {
        super(reason + (errors.isEmpty() ? "" : ": " + String.join("; ", errors.subList(0, Math.min(5, errors.size())))
                + (errors.size() > 5 ? "; and " + (errors.size() - 5) + " more" : "")));
        this.reason = reason;
        this.errors = List.copyOf(errors);
    }

    public String reason() {
        return reason;
    }

    public List<String> errors() {
        return errors;
    }
}
