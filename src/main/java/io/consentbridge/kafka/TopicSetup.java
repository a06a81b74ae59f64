package io.consentbridge.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Makes sure the topics exist before the routes start: the contract's topics with the cluster's
 * defaults, and the internal grant-work topic with at least the partitions that grant records are
 * spread over. A cluster that forbids creating topics only earns a warning.
 */
public class TopicSetup {
    private static final Logger LOG = LoggerFactory.getLogger(TopicSetup.class);

    public static void ensure(String brokers, List<String> topics, String grantWorkTopic, int grantWorkPartitions) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (String topic : topics) {
                if (!existing.contains(topic)) {
                    missing.add(new NewTopic(topic, Optional.empty(), Optional.empty()));
                }
            }
            if (!existing.contains(grantWorkTopic)) {
                missing.add(new NewTopic(grantWorkTopic, Optional.of(grantWorkPartitions), Optional.empty()));
            }
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
                LOG.info("created topics {}", missing.stream().map(NewTopic::name).toList());
            }
            TopicDescription work = admin.describeTopics(List.of(grantWorkTopic)).allTopicNames().get(30, TimeUnit.SECONDS).get(grantWorkTopic);
            if (work.partitions().size() < grantWorkPartitions) {
                admin.createPartitions(Map.of(grantWorkTopic, NewPartitions.increaseTo(grantWorkPartitions))).all().get(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warn("could not check or create topics ({}); relying on the cluster's auto-creation", e.getMessage());
        }
    }
}
