package io.consentbridge.nylas;

import io.consentbridge.secrets.Redaction;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What Nylas (or the network on the way) answered when a call failed.
 * {@code httpStatus} is 0 when no HTTP answer came (connection refused, timeout).
 */
public record NylasError(String type, String message, int httpStatus, String requestId) {

    public NylasError {
        // Nylas messages can echo request fragments; keep them short and free of secrets.
        message = message == null ? "" : Redaction.redactText(message.length() > 1000 ? message.substring(0, 1000) : message);
    }

    public static NylasError of(Throwable failure) {
        if (failure instanceof NylasCallException nylas) {
            return nylas.error();
        }
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getMessage() == null) {
            cause = cause.getCause();
        }
        return new NylasError("connection_error", cause.getClass().getSimpleName()
                + (cause.getMessage() == null ? "" : ": " + cause.getMessage()), 0, null);
    }

    /** The {@code error} object of a {@code grant.failed} event. */
    public Map<String, Object> asEventField() {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("type", type);
        error.put("message", message);
        error.put("http_status", httpStatus);
        error.put("request_id", requestId);
        return error;
    }
}
