package io.consentbridge.consent;

import java.time.Instant;

/**
 * A consent link as issued: the raw {@code state} lives only here and in the link itself; the
 * ledger keeps {@link #stateHash()}.
 */
public record ConsentLink(String credentialId, String state, String url, Instant expiresAt) {
    public String stateHash() {
        return ConsentLinks.hash(state);
    }

    /** Never the state or the URL: a link in a log line would hand the tenant's consent to its reader. */
    @Override
    public String toString() {
        return "ConsentLink[credential " + credentialId + ", expires " + expiresAt + "]";
    }
}
