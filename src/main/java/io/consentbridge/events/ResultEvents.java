package io.consentbridge.events;

import io.consentbridge.consent.ConsentLink;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The events of contract §2 and §5, one method each: the fields of every event type in one place,
 * next to the schemas in {@code config/schemas/}. The ledger calls these inside the transaction
 * whose change the event reports; the routes call them for events published directly.
 */
public class ResultEvents {
    private final EventEnvelope envelope;
    private final String resultsTopic;

    public ResultEvents(EventEnvelope envelope, String resultsTopic) {
        this.envelope = envelope;
        this.resultsTopic = resultsTopic;
    }

    /** {@code consent.url.issued}: published directly to the consent-URL topic by the route that issued the link. */
    public String consentUrlIssued(String tenantId, String requestId, ConsentLink link, String reason) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", link.credentialId());
        data.put("consent_url", link.url());
        data.put("expires_at", link.expiresAt().toString());
        data.put("reason", reason);
        return envelope.build("consent.url.issued", tenantId, requestId, data);
    }

    public OutboundRecord consentGranted(String tenantId, String requestId, String credentialId, int mailboxCount) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("mailbox_count", mailboxCount);
        return result("consent.granted", tenantId, requestId, data);
    }

    public OutboundRecord consentDenied(String tenantId, String requestId, String credentialId, String error, String errorDescription) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("error", error);
        data.put("error_description", errorDescription);
        return result("consent.denied", tenantId, requestId, data);
    }

    public OutboundRecord consentExpired(String tenantId, String requestId, String credentialId, Instant expiresAt) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("expires_at", expiresAt.toString());
        return result("consent.expired", tenantId, requestId, data);
    }

    public OutboundRecord grantCreated(String tenantId, String requestId, String credentialId, String email,
                                       String grantId, String grantStatus, List<?> scope) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("email", email);
        data.put("grant_id", grantId);
        data.put("grant_status", grantStatus);
        data.put("scope", scope);
        return result("grant.created", tenantId, requestId, data);
    }

    public OutboundRecord grantRestored(String tenantId, String requestId, String credentialId, String email, String grantId) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("email", email);
        data.put("grant_id", grantId);
        return result("grant.restored", tenantId, requestId, data);
    }

    public OutboundRecord grantExpired(String tenantId, String requestId, String credentialId, String email, String grantId) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("email", email);
        data.put("grant_id", grantId);
        return result("grant.expired", tenantId, requestId, data);
    }

    /**
     * @param cause  {@code consent_revoked}, {@code secret_invalid} or {@code unknown}
     * @param action {@code reconsent}, {@code rotate_secret} or {@code investigate}
     * @param error  Nylas's answer to the probe: {@code type}, {@code message}, {@code http_status}, {@code request_id}
     */
    public OutboundRecord attentionNeeded(String tenantId, String requestId, String credentialId, String cause, String action,
                                          long affectedMailboxes, Map<String, Object> error) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("cause", cause);
        data.put("action", action);
        data.put("affected_mailboxes", affectedMailboxes);
        data.put("error", error);
        return result("tenant.attention_needed", tenantId, requestId, data);
    }

    /** @param tenantId the tenant reconciled, or {@code *} for a full sweep */
    public OutboundRecord reconciliationCompleted(String tenantId, String requestId, long checked, long inSync, long expired,
                                                  long missing, long restored) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("checked", checked);
        data.put("in_sync", inSync);
        data.put("expired", expired);
        data.put("missing", missing);
        data.put("restored", restored);
        return result("reconciliation.completed", tenantId, requestId, data);
    }

    /** @param by {@code bridge} (a command deleted it) or {@code nylas} (deleted from outside) */
    public OutboundRecord grantDeleted(String tenantId, String requestId, String credentialId, String email, String grantId, String by) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("email", email);
        data.put("grant_id", grantId);
        data.put("by", by);
        return result("grant.deleted", tenantId, requestId, data);
    }

    public OutboundRecord tenantOffboarded(String tenantId, String requestId, String credentialId, long grantsDeleted, long grantsFailed) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("grants_deleted", grantsDeleted);
        data.put("grants_failed", grantsFailed);
        return result("tenant.offboarded", tenantId, requestId, data);
    }

    /** @param secretExpiresAt when the new secret expires, or null when not known (then left out) */
    public OutboundRecord credentialRotated(String tenantId, String requestId, String credentialId, Instant secretExpiresAt) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        if (secretExpiresAt != null) {
            data.put("client_secret_expires_at", secretExpiresAt.toString());
        }
        return result("credential.rotated", tenantId, requestId, data);
    }

    public OutboundRecord secretExpiring(String tenantId, String requestId, String credentialId, Instant secretExpiresAt) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("client_secret_expires_at", secretExpiresAt.toString());
        return result("credential.secret_expiring", tenantId, requestId, data);
    }

    /** @param error {@code type}, {@code message}, {@code http_status} (and Nylas's {@code request_id} when known) */
    public OutboundRecord grantFailed(String tenantId, String requestId, String credentialId, String email, Map<String, Object> error) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("credential_id", credentialId);
        data.put("email", email);
        data.put("error", error);
        return result("grant.failed", tenantId, requestId, data);
    }

    /** {@code grant.failed} with {@code invalid_mailbox}, for a string that is not an address, with the string as given. */
    public OutboundRecord invalidMailbox(String tenantId, String requestId, String credentialId, String given, String problem) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("type", "invalid_mailbox");
        error.put("message", problem);
        error.put("http_status", null);
        return grantFailed(tenantId, requestId, credentialId, given, error);
    }

    private OutboundRecord result(String type, String tenantId, String requestId, Map<String, Object> data) {
        return new OutboundRecord(resultsTopic, tenantId, null, envelope.build(type, tenantId, requestId, data));
    }
}
