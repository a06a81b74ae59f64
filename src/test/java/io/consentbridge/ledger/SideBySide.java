package io.consentbridge.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.consentbridge.consent.ConsentLinks;
import io.consentbridge.events.EventEnvelope;
import io.consentbridge.events.ResultEvents;
import io.consentbridge.support.MovableClock;

import java.time.Duration;
import java.time.Instant;

/**
 * Two ledgers on two fresh databases with one clock, one event builder and one link issuer: for the
 * properties that do the same work on both, one piece at a time on {@link #oneByOne} and as a group on
 * {@link #together}, and compare what each leaves behind.
 */
final class SideBySide implements AutoCloseable {
    final ObjectMapper mapper = JsonMapper.builder().findAndAddModules().build();
    final MovableClock clock = new MovableClock(Instant.parse("2027-01-10T09:00:00Z"));
    final ResultEvents events = new ResultEvents(new EventEnvelope(mapper, clock), "results");
    final ConsentLinks links = new ConsentLinks("https://api.us.nylas.com", "client", "https://bridge.example/cb", clock, Duration.ofDays(7));
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
