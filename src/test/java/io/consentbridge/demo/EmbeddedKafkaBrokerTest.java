package io.consentbridge.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaBrokerTest {

    private static final String TOPIC = "consent.requests";

    @TempDir
    Path dataDir;

    @Test
    void producesConsumesAndKeepsDataAcrossRestart() throws Exception {
        int port;
        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(0, dataDir, 4)) {
            port = broker.port();
            long t0 = System.nanoTime();
            broker.start();
            System.out.printf("first start (with format): %d ms%n", ms(t0));
            assertThat(broker.bootstrapServers()).isEqualTo("localhost:" + port);

            broker.createTopic(TOPIC, 2);
            broker.createTopic(TOPIC, 2); // already exists: ignored

            try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
                RecordMetadata md = producer.send(new ProducerRecord<>(TOPIC, "tenant-1", "hello")).get(30, TimeUnit.SECONDS);
                assertThat(md.offset()).isZero();
                // Auto-created topics get num.partitions partitions.
                producer.send(new ProducerRecord<>("auto.created", "k", "v")).get(30, TimeUnit.SECONDS);
                assertThat(producer.partitionsFor("auto.created")).hasSize(4);
            }
            long t1 = System.nanoTime();
            assertThat(readAll(broker, "group-1")).containsExactly("tenant-1=hello");
            System.out.printf("first consume (incl. group coordinator): %d ms%n", ms(t1));

            long t2 = System.nanoTime();
            broker.stop();
            System.out.printf("stop: %d ms%n", ms(t2));
        }

        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(port, dataDir, 4)) {
            long t0 = System.nanoTime();
            broker.start();
            System.out.printf("second start (formatted, same dir and port): %d ms%n", ms(t0));
            assertThat(readAll(broker, "group-2")).containsExactly("tenant-1=hello");
        }
    }

    private static List<String> readAll(EmbeddedKafkaBroker broker, String groupId) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, groupId,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class))) {
            consumer.subscribe(List.of(TOPIC));
            List<String> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r.key() + "=" + r.value());
                }
            }
            return out;
        }
    }

    private static long ms(long since) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
    }
}
