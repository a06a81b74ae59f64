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

    /**
     * True when a failed grant failed for an authentication reason, which a new Azure secret or a
     * fresh consent can cure: Nylas answered 401/403, or named an auth or consent error, or passed
     * on a Microsoft AADSTS code (reference §9: classify by type, status and code, never by prose).
     */
    public static boolean isAuthFailure(String type, Integer httpStatus, String message) {
        if (httpStatus != null && (httpStatus == 401 || httpStatus == 403)) {
            return true;
        }
        String t = type == null ? "" : type.toLowerCase(java.util.Locale.ROOT);
        if (t.contains("auth") || t.contains("consent") || t.contains("credential") || t.contains("token")) {
            return true;
        }
        return message != null && message.contains("AADSTS");
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
