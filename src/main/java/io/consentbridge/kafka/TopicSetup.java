package io.consentbridge.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Makes sure the contract's topics exist before the routes start, with the cluster's defaults. A
 * cluster that forbids creating topics only earns a warning.
 */
public class TopicSetup {
    private static final Logger LOG = LoggerFactory.getLogger(TopicSetup.class);

    /**
     * Creates what is missing. A cluster that does not answer within a few seconds does not hold
     * the start: one line says so, and the topics are created in the background once it answers
     * (until then the bundle is not ready, as Kafka's health checks say).
     */
    public static void ensure(String brokers, List<String> topics) {
        try {
            attempt(brokers, topics, 2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | ExecutionException unreachable) {
            if (!(unreachable.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) && unreachable instanceof ExecutionException) {
                LOG.warn("could not check or create topics ({}); relying on the cluster's auto-creation", unreachable.getCause().getMessage());
                return;
            }
            LOG.warn("Kafka does not answer at KAFKA_BROKERS (camel.component.kafka.brokers) = {}: starting anyway, not ready until it"
                    + " does; the topics are created once it answers", brokers);
            Thread retry = new Thread(() -> retry(brokers, topics), "topic-setup");
            retry.setDaemon(true);
            retry.start();
        } catch (Exception e) {
            LOG.warn("could not check or create topics ({}); relying on the cluster's auto-creation", e.getMessage());
        }
    }

    private static void retry(String brokers, List<String> topics) {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                attempt(brokers, topics, 10);
                LOG.info("Kafka answers at {}: topics are in place", brokers);
                return;
            } catch (InterruptedException e) {
                return;
            } catch (Exception stillAway) {
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private static void attempt(String brokers, List<String> topics, int seconds)
            throws InterruptedException, ExecutionException, TimeoutException {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, seconds * 1000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, seconds * 1000))) {
            Set<String> existing = admin.listTopics().names().get(seconds, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (String topic : topics) {
                if (!existing.contains(topic)) {
                    missing.add(new NewTopic(topic, Optional.empty(), Optional.empty()));
                }
            }
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
                LOG.info("created topics {}", missing.stream().map(NewTopic::name).toList());
            }
        }
    }
}
