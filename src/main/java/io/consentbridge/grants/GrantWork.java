package io.consentbridge.grants;

import io.consentbridge.ops.LogContext;

/**
 * One Nylas call to make for a mailbox, as the ledger queued it (a row of {@code grant_work}):
 * {@code action} is {@code grant} (a first grant), {@code restore} (grant again a mailbox whose
 * grant expired: success is {@code grant.restored}) or {@code delete} (delete {@code grantId} at
 * Nylas). Deletions go through the same workers and rate cap as grants. {@code id} is the row's;
 * the transaction that records the outcome removes it.
 */
public record GrantWork(long id, String tenantId, String requestId, String email, String credentialId, String action, String grantId)
        implements LogContext.Subject {
    public static final String GRANT = "grant";
    public static final String RESTORE = "restore";
    public static final String DELETE = "delete";

    public boolean isDelete() {
        return DELETE.equals(action);
    }

    public boolean isRestore() {
        return RESTORE.equals(action);
    }
}
