package io.consentbridge.ops;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Readiness: the Kafka cluster answers a {@code describeCluster}, asked in the background.
 * (camel-kafka's own consumer checks ask each consumer's client, whose lock its {@code poll} holds
 * for up to {@code poll-timeout-ms}: over a second per probe, so they are switched off with
 * {@code camel.health.consumers-enabled=false}.)
 */
public class KafkaHealthCheck extends BackgroundHealthCheck {
    private final Admin admin;
    private final String brokers;
    private final long timeoutMs;

    public KafkaHealthCheck(Admin admin, String brokers, Duration interval) {
        super("kafka", interval);
        this.admin = admin;
        this.brokers = brokers;
        this.timeoutMs = Math.max(500, interval.toMillis() * 2);
    }

    @Override
    protected void ask() throws Exception {
        admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) timeoutMs)).nodes().get(timeoutMs, TimeUnit.MILLISECONDS);
    }

    @Override
    protected String downMessage(String lastProblem) {
        return "Kafka does not answer at KAFKA_BROKERS = " + brokers + " (" + lastProblem + ")";
    }
}
