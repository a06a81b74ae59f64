package io.consentbridge.ops;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.io.Closeable;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A readiness check whose question is asked in the background every {@code interval}; the probe
 * only reads how long ago the last answer came, so it takes microseconds whatever the dependency
 * does (hangs, polls, times out). Two missed answers in a row: down.
 */
abstract class BackgroundHealthCheck extends AbstractHealthCheck implements Closeable {
    private final Duration staleAfter;
    private final ScheduledExecutorService scheduler;
    private volatile long lastAnswerNanos;
    private volatile boolean everAnswered;
    private volatile String lastProblem = "not asked yet";

    BackgroundHealthCheck(String id, Duration interval) {
        super("consent-bridge", id);
        this.staleAfter = interval.multipliedBy(2).plusMillis(500);
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, id + "-health");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.scheduleWithFixedDelay(this::askOnce, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Asks the dependency; returns when it answered, throws when it did not. */
    protected abstract void ask() throws Exception;

    /** What the probe says while the dependency does not answer. */
    protected abstract String downMessage(String lastProblem);

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        if (everAnswered && System.nanoTime() - lastAnswerNanos < staleAfter.toNanos()) {
            builder.up();
        } else {
            builder.message(downMessage(lastProblem)).down();
        }
    }

    private void askOnce() {
        try {
            ask();
            lastAnswerNanos = System.nanoTime();
            everAnswered = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            lastProblem = cause.getClass().getSimpleName();
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
