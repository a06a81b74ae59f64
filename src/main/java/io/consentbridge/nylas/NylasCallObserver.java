package io.consentbridge.nylas;

/** Told of every answer Nylas gives (the metrics listen here). */
public interface NylasCallObserver {
    /**
     * @param endpoint  method and path with ids left out, e.g. {@code DELETE /v3/grants/{id}}
     * @param status    the HTTP status
     * @param limitedBy for a 429: {@code nylas} (the application's own limit) or {@code provider} (Microsoft, one tenant); else null
     */
    void answered(String endpoint, int status, String limitedBy);

    NylasCallObserver NONE = (endpoint, status, limitedBy) -> {
    };
}
