package io.consentbridge.ledger;

import java.sql.SQLException;

/** The ledger database could not be reached or failed: the record is retried, never dropped. */
public class LedgerUnavailableException extends RuntimeException {
    public LedgerUnavailableException(SQLException cause) {
        super("ledger database error: " + cause.getMessage(), cause);
    }
}
