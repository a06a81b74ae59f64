package io.consentbridge.grants;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One mailbox to work on: the value of a record on the internal grant-work topic. {@code action}
 * is {@code grant} (a first grant; absent means the same), {@code restore} (grant again a mailbox
 * whose grant expired: success is {@code grant.restored}) or {@code delete} (delete
 * {@code grantId} at Nylas). Deletions go through the same fan-out and rate cap as grants.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GrantWork(@JsonProperty("tenant_id") String tenantId,
                        @JsonProperty("request_id") String requestId,
                        @JsonProperty("email") String email,
                        @JsonProperty("credential_id") String credentialId,
                        @JsonProperty("action") String action,
                        @JsonProperty("grant_id") String grantId) {
    @JsonCreator
    public GrantWork {
    }

    public static final String RESTORE = "restore";
    public static final String DELETE = "delete";

    public GrantWork(String tenantId, String requestId, String email, String credentialId) {
        this(tenantId, requestId, email, credentialId, null, null);
    }

    public static GrantWork restore(String tenantId, String requestId, String email, String credentialId) {
        return new GrantWork(tenantId, requestId, email, credentialId, RESTORE, null);
    }

    public static GrantWork delete(String tenantId, String requestId, String email, String credentialId, String grantId) {
        return new GrantWork(tenantId, requestId, email, credentialId, DELETE, grantId);
    }

    @JsonIgnore
    public boolean isDelete() {
        return DELETE.equals(action);
    }

    @JsonIgnore
    public boolean isRestore() {
        return RESTORE.equals(action);
    }
}
