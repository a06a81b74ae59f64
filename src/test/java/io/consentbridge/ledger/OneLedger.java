package io.consentbridge.ledger;

import com.zaxxer.hikari.HikariDataSource;

/** One ledger on a fresh database, for the properties that look at one piece of work at a time. */
final class OneLedger extends LedgerPieces implements AutoCloseable {
    final HikariDataSource db = CallbackGroupProperties.open();
    final ConsentLedger ledger = new ConsentLedger(db, clock, events, mapper);

    @Override
    public void close() {
        db.close();
    }
}
