package io.consentbridge.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.Map;

/**
 * For the class-data-sharing training run only ({@code --check} with {@code -Dbridge.check.kafka-classes=true},
 * pom.xml): builds a Kafka consumer, producer and admin client of the kinds the bundle starts, pointed at
 * a port where nothing listens, and closes them, so the archive holds the Kafka client's classes too
 * (some 2,800 of the classes a real start loads, which the check alone never touches).
 */
public final class KafkaClassesForArchive {
    private static final String NOWHERE = "127.0.0.1:1";

    private KafkaClassesForArchive() {
    }

    public static void load() {
        for (ApiKeys key : ApiKeys.values()) {
            key.latestVersion();
        }
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, NOWHERE, ConsumerConfig.GROUP_ID_CONFIG, "cds-training",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
                new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(java.util.List.of("cds-training"));
            consumer.poll(Duration.ofMillis(200));
        } catch (RuntimeException nothingListens) {
            // expected: only the classes matter
        }
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, NOWHERE, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.MAX_BLOCK_MS_CONFIG, 200),
                new StringSerializer(), new StringSerializer())) {
            producer.partitionsFor("cds-training");
        } catch (RuntimeException nothingListens) {
            // expected
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, NOWHERE))) {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs(200)).nodes().get();
        } catch (Exception nothingListens) {
            // expected
        }
    }
}
