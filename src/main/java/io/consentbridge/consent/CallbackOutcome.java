package io.consentbridge.consent;

/** What a callback did: {@code granted}, {@code denied}, or {@code invalid} (unknown, expired or used state). */
public record CallbackOutcome(String result, String tenantId) {
    public static CallbackOutcome invalid() {
        return new CallbackOutcome("invalid", null);
    }

    public static CallbackOutcome granted(String tenantId) {
        return new CallbackOutcome("granted", tenantId);
    }

    public static CallbackOutcome denied(String tenantId) {
        return new CallbackOutcome("denied", tenantId);
    }
}
