package io.consentbridge.ops;

import io.consentbridge.ledger.ConsentLedger;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Readiness: the ledger database answers within a second. Kafka's side is covered by Camel's
 * consumer checks. The ping runs on its own thread so a database that hangs (the pool waits up to
 * 5 s for a connection) still gets a prompt 503, within an orchestrator's probe timeout.
 */
public class LedgerHealthCheck extends AbstractHealthCheck {
    private static final long TIMEOUT_MS = 1000;
    private final ConsentLedger ledger;
    private final ExecutorService pinger = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "ledger-health");
        thread.setDaemon(true);
        return thread;
    });

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
        Future<?> ping = pinger.submit(ledger::ping);
        try {
            ping.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            builder.up();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            builder.message("interrupted").down();
        } catch (Exception e) {
            ping.cancel(true);
            builder.message("ledger database unreachable").down();
        }
    }
}
