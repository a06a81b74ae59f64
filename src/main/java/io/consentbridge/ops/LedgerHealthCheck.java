package io.consentbridge.ops;

import io.consentbridge.ledger.ConsentLedger;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.Map;

/** Readiness: the ledger database answers. Kafka's side is covered by Camel's consumer checks. */
public class LedgerHealthCheck extends AbstractHealthCheck {
    private final ConsentLedger ledger;

    public LedgerHealthCheck(ConsentLedger ledger) {
        super("consent-bridge", "ledger");
        this.ledger = ledger;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        try {
            ledger.ping();
            builder.up();
        } catch (RuntimeException e) {
            builder.message("ledger database unreachable").down();
        }
    }
}
