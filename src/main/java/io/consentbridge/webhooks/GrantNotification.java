package io.consentbridge.webhooks;

/**
 * One grant notification from Nylas (reference §9), as far as the bridge reads it: the
 * notification id (the de-duplication key), its type, the grant, and for {@code grant.updated}
 * whether it was a re-authentication. Every other field is optional and not needed.
 */
public record GrantNotification(String id, String type, String grantId, boolean reauthenticated) {
}
