package io.consentbridge.grants;

import com.fasterxml.jackson.annotation.JsonProperty;

/** One mailbox to grant: the value of a record on the internal grant-work topic. */
public record GrantWork(@JsonProperty("tenant_id") String tenantId,
                        @JsonProperty("request_id") String requestId,
                        @JsonProperty("email") String email,
                        @JsonProperty("credential_id") String credentialId) {
}
