package io.consentbridge.inbound;

import java.time.Instant;
import java.util.List;

/**
 * A validated lifecycle command (contract §5). {@code mailboxes} only for {@code remove_mailboxes}
 * (valid addresses, lower-cased); {@code clientId}, {@code clientSecret} and
 * {@code clientSecretExpiresAt} only for {@code rotate_secret}. The secret is passed to Nylas once
 * and never stored.
 */
public record AdminCommand(String requestId, String tenantId, String command, List<String> mailboxes,
                           String clientId, String clientSecret, Instant clientSecretExpiresAt) {
    public static final String OFFBOARD = "offboard";
    public static final String REMOVE_MAILBOXES = "remove_mailboxes";
    public static final String ROTATE_SECRET = "rotate_secret";
    public static final String RECONSENT = "reconsent";
    public static final String RECONCILE = "reconcile";

    @Override
    public String toString() {
        // Keeps the secret out of any log line that prints the command.
        return "AdminCommand[request_id=" + requestId + ", tenant_id=" + tenantId + ", command=" + command + "]";
    }
}
