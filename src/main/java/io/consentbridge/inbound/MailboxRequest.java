package io.consentbridge.inbound;

import java.util.List;

/** A validated request to connect more mailboxes of a tenant. */
public record MailboxRequest(String requestId, String tenantId, List<String> mailboxes) {
}
