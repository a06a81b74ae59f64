package io.consentbridge.ledger;

/**
 * A value the ledger refuses (too long for its column, a character the database cannot store):
 * retrying cannot help, so the input that brought it is rejected, or the grant reported failed.
 * An {@link IllegalArgumentException}, so the Nylas answer reader can tell it without knowing the ledger.
 */
public class LedgerDataException extends IllegalArgumentException {
    public LedgerDataException(String message) {
        super(message);
    }
}
