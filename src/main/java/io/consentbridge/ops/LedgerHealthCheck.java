package io.consentbridge.ops;

import io.consentbridge.ledger.ConsentLedger;

import java.time.Duration;

/** Readiness: the ledger database answers, pinged in the background on a connection pool of its own. */
public class LedgerHealthCheck extends BackgroundHealthCheck {
    private final ConsentLedger ledger;

    public LedgerHealthCheck(ConsentLedger ledger, Duration interval) {
        super("ledger", interval);
        this.ledger = ledger;
    }

    @Override
    protected void ask() {
        ledger.ping();
    }

    @Override
    protected String downMessage(String lastProblem) {
        return "the ledger database (DB_URL) does not answer (" + lastProblem + ")";
    }
}
