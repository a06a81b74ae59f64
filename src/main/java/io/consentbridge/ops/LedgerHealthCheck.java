package io.consentbridge.ops;

import io.consentbridge.ledger.ConsentLedger;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.io.Closeable;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Readiness: the ledger database answers. Pinged in the background every {@code interval} on a
 * connection pool of its own; the probe only reads the last answer, so it takes microseconds even
 * while the database hangs. Two missed answers in a row, or an answer that took too long: down.
 */
public class LedgerHealthCheck extends AbstractHealthCheck implements Closeable {
    private final ConsentLedger ledger;
    private final Duration interval;
    private final ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "ledger-health");
        thread.setDaemon(true);
        return thread;
    });
    private volatile long lastAnswerNanos;
    private volatile boolean everAnswered;

    public LedgerHealthCheck(ConsentLedger ledger, Duration interval) {
        super("consent-bridge", "ledger");
        this.ledger = ledger;
        this.interval = interval;
        pinger.scheduleWithFixedDelay(this::ping, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        long age = System.nanoTime() - lastAnswerNanos;
        if (everAnswered && age < interval.multipliedBy(2).plusMillis(500).toNanos()) {
            builder.up();
        } else {
            builder.message("ledger database unreachable (DB_URL)").down();
        }
    }

    private void ping() {
        try {
            ledger.ping();
            lastAnswerNanos = System.nanoTime();
            everAnswered = true;
        } catch (RuntimeException unreachable) {
            // the answer's age tells the probe
        }
    }

    @Override
    public void close() {
        pinger.shutdownNow();
    }
}
