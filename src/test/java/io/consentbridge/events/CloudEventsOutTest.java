package io.consentbridge.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.cloudevents.kafka.CloudEventDeserializer;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every event the bundle publishes, produced by real flows, read from a real broker the way a
 * consumer of the topics reads it: with the CloudEvents SDK's Kafka deserializer, no knowledge of
 * our JSON. Each record is a structured-mode CloudEvent carrying only the content-type header.
 */
class CloudEventsOutTest {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyEventTypeIsACloudEventToTheSdksKafkaReader() throws Exception {
        // A short consent time, so a link nobody opens expires during the test.
        try (BridgeUnderTest bridge = new BridgeUnderTest().with("consent.ttl", "PT8S").with("consent.expiry-check-interval-ms", "500").start();
             TopicReader urls = bridge.reader("consent-urls");
             TopicReader results = bridge.reader("results");
             TopicReader dlq = bridge.reader("dlq")) {
            // consent.url.issued, grant.failed (invalid_mailbox), consent.granted, grant.created, grant.failed (Nylas 400)
            bridge.nylas.failWhen(r -> r.path().equals("/v3/connect/custom") && r.body().contains("refused@"), 400);
            bridge.send("onboarding", "ce-yes", "{\"request_id\":\"r-yes\",\"tenant_id\":\"ce-yes\",\"mailboxes\":[\"ada@ce.example\",\"refused@ce.example\",\"not an address\"]}");
            bridge.get(bridge.callbackUri("admin_consent=true&state=" + urls.awaitConsentState("ce-yes", WAIT)), null);
            // consent.denied
            bridge.send("onboarding", "ce-no", "{\"request_id\":\"r-no\",\"tenant_id\":\"ce-no\"}");
            bridge.get(bridge.callbackUri("error=access_denied&error_description=declined&state=" + urls.awaitConsentState("ce-no", WAIT)), null);
            // request.rejected: an invalid request, and a broken CloudEvent (non-JSON, so original is text)
            bridge.send("onboarding", "ce-bad", "{\"request_id\":\"r-bad\",\"tenant_id\":\"ce-bad\",\"provider\":\"google\"}");
            bridge.send("onboarding", "ce-bad", "not json", Map.of("ce_specversion", "1.0"));
            // consent.expired: a link nobody opens
            bridge.send("onboarding", "ce-late", "{\"request_id\":\"r-late\",\"tenant_id\":\"ce-late\"}");
            Set<String> expected = Set.of("consent.url.issued", "consent.granted", "consent.denied", "consent.expired", "grant.created",
                    "grant.failed", "request.rejected");
            org.awaitility.Awaitility.await().atMost(WAIT).until(() -> {
                Set<String> seen = new TreeSet<>();
                for (TopicReader reader : List.of(urls, results, dlq)) {
                    reader.events().forEach(e -> seen.add(e.path("type").asText()));
                }
                return seen.containsAll(expected) && results.events("grant.failed").size() >= 2;
            });

            Set<String> types = new TreeSet<>();
            for (String topic : List.of("consent-urls", "results", "dlq")) {
                for (ConsumerRecord<String, CloudEvent> record : readWithTheSdk(bridge, bridge.topic(topic))) {
                    CloudEvent event = record.value();
                    assertThat(event).as("a CloudEvent on " + topic).isNotNull();
                    assertThat(event.getSpecVersion().toString()).isEqualTo("1.0");
                    assertThat(event.getSource()).isEqualTo(URI.create("consent-bridge"));
                    assertThat(event.getSubject()).isEqualTo(record.key());
                    assertThat(event.getDataContentType()).isEqualTo("application/json");
                    assertThat(event.getTime()).isNotNull();
                    JsonNode data = JSON.readTree(event.getData().toBytes());
                    assertThat(EventSchemas.problems(event.getType(), data)).as("%s data %s against its schema", event.getType(), data).isEmpty();
                    assertThat(data.has("request_id")).as("request_id in %s", data).isTrue();
                    // The key is the tenant_id; a rejection of a record that names no tenant has neither.
                    assertThat(data.path("tenant_id").isNull() ? null : data.path("tenant_id").asText()).as("tenant_id of %s", data).isEqualTo(record.key());
                    assertThat(Arrays.stream(record.headers().toArray()).map(Header::key).toList())
                            .as("headers of a %s record", event.getType()).containsExactly("content-type");
                    assertThat(new String(record.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
                            .startsWith("application/cloudevents+json");
                    types.add(event.getType());
                }
            }
            assertThat(types).containsAll(expected);
        }
    }

    static List<ConsumerRecord<String, CloudEvent>> readWithTheSdk(BridgeUnderTest bridge, String topic) {
        List<ConsumerRecord<String, CloudEvent>> records = new ArrayList<>();
        try (KafkaConsumer<String, CloudEvent> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bridge.settings.get("camel.component.kafka.brokers"),
                ConsumerConfig.GROUP_ID_CONFIG, "ce-reader-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new CloudEventDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            int empty = 0;
            while (System.nanoTime() < deadline && (records.isEmpty() || empty < 3)) {
                var batch = consumer.poll(Duration.ofMillis(500));
                batch.forEach(records::add);
                empty = batch.isEmpty() ? empty + 1 : 0;
            }
        }
        return records;
    }
}
