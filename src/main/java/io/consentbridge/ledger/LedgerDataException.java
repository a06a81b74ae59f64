package io.consentbridge.ledger;

/**
 * A value the ledger refuses (too long for its column, a character the database cannot store):
 * retrying cannot help, so the input that brought it is rejected, or the grant reported failed.
 */
public class LedgerDataException extends RuntimeException {
    public LedgerDataException(String message) {
        super(message);
    }
}
