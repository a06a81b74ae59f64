package io.consentbridge.inbound;

import java.time.Instant;
import java.util.List;

/**
 * A validated onboarding request. {@code clientSecret} is passed to Nylas once and never stored.
 * {@code mailboxes} are the distinct valid addresses, lower-cased; {@code invalidMailboxes} the
 * strings that are not addresses, each to be answered with its own {@code grant.failed}.
 */
public record OnboardingRequest(String requestId, String tenantId, String azureTenant, String clientId,
                                String clientSecret, Instant clientSecretExpiresAt, String adminEmail, List<String> mailboxes,
                                List<InvalidMailbox> invalidMailboxes) {

    @Override
    public String toString() {
        // Keeps the secret out of any log line that prints the request.
        return "OnboardingRequest[request_id=" + requestId + ", tenant_id=" + tenantId + ", mailboxes=" + mailboxes.size()
                + ", invalid_mailboxes=" + invalidMailboxes.size() + "]";
    }
}
