package io.consentbridge.kafka;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Readiness: the Kafka cluster answers. Asked in the background (every {@code interval}, a
 * {@code describeCluster} with a short timeout); the probe only reads the last answer, so it takes
 * microseconds and never waits on a consumer's poll. (camel-kafka's own consumer checks ask each
 * consumer's client, whose lock its {@code poll} holds for up to {@code poll-timeout-ms}: over a
 * second per probe, so they are switched off with {@code camel.health.consumers-enabled=false}.)
 */
public class KafkaHealthCheck extends AbstractHealthCheck implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaHealthCheck.class);
    private final Admin admin;
    private final String brokers;
    private final Duration interval;
    private final Duration staleAfter;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "kafka-health");
        thread.setDaemon(true);
        return thread;
    });
    private volatile long lastAnswerNanos;
    private volatile boolean everAnswered;
    private volatile String lastProblem = "not asked yet";

    public KafkaHealthCheck(Admin admin, String brokers, Duration interval) {
        super("consent-bridge", "kafka");
        this.admin = admin;
        this.brokers = brokers;
        this.interval = interval;
        // Two missed answers in a row: the cluster is away.
        this.staleAfter = interval.multipliedBy(2).plusSeconds(1);
        scheduler.scheduleWithFixedDelay(this::ask, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        long age = System.nanoTime() - lastAnswerNanos;
        if (everAnswered && age < staleAfter.toNanos()) {
            builder.up();
        } else {
            builder.message("Kafka does not answer at KAFKA_BROKERS = " + brokers + " (" + lastProblem + ")").down();
        }
    }

    private void ask() {
        try {
            long timeout = Math.max(500, interval.toMillis() * 2);
            admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) timeout)).nodes().get(timeout, TimeUnit.MILLISECONDS);
            lastAnswerNanos = System.nanoTime();
            everAnswered = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            lastProblem = e.getCause() != null ? e.getCause().getClass().getSimpleName() : e.getClass().getSimpleName();
            LOG.debug("Kafka did not answer: {}", e.toString());
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
