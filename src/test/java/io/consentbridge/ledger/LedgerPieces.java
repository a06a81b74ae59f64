package io.consentbridge.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.consentbridge.consent.ConsentLinks;
import io.consentbridge.events.EventEnvelope;
import io.consentbridge.events.ResultEvents;
import io.consentbridge.support.MovableClock;

import java.time.Duration;
import java.time.Instant;

/** What a ledger under test is built with: one clock, one event builder and one link issuer. */
class LedgerPieces {
    final ObjectMapper mapper = JsonMapper.builder().findAndAddModules().build();
    final MovableClock clock = new MovableClock(Instant.parse("2027-01-10T09:00:00Z"));
    final ResultEvents events = new ResultEvents(new EventEnvelope(mapper, clock), "results");
    final ConsentLinks links = new ConsentLinks("https://api.us.nylas.com", "client", "https://bridge.example/cb", clock, Duration.ofDays(7));
}
