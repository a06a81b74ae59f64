package io.consentbridge.ledger;

import com.zaxxer.hikari.HikariDataSource;

/**
 * Two ledgers on two fresh databases with one clock, one event builder and one link issuer: for the
 * properties that do the same work on both, one piece at a time on {@link #oneByOne} and as a group on
 * {@link #together}, and compare what each leaves behind.
 */
final class SideBySide extends LedgerPieces implements AutoCloseable {
    final HikariDataSource oneByOneDb = CallbackGroupProperties.open();
    final HikariDataSource togetherDb = CallbackGroupProperties.open();
    final ConsentLedger oneByOne = new ConsentLedger(oneByOneDb, clock, events, mapper);
    final ConsentLedger together = new ConsentLedger(togetherDb, clock, events, mapper);

    /** The ledger on {@code db}, one of the two. */
    ConsentLedger ledgerOn(HikariDataSource db) {
        return db == oneByOneDb ? oneByOne : together;
    }

    @Override
    public void close() {
        oneByOneDb.close();
        togetherDb.close();
    }
}
