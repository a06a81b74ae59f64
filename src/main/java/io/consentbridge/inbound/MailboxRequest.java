package io.consentbridge.inbound;

import java.util.List;

/**
 * A validated request to connect more mailboxes of a tenant. {@code mailboxes} are the distinct
 * valid addresses, lower-cased; {@code invalidMailboxes} the strings that are not addresses.
 */
public record MailboxRequest(String requestId, String tenantId, List<String> mailboxes, List<InvalidMailbox> invalidMailboxes) {
}
