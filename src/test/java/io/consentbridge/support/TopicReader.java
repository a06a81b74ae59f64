package io.consentbridge.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

import static org.awaitility.Awaitility.await;

/** Reads a topic from the beginning in the background, keeping every record it sees. */
public final class TopicReader implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<ConsumerRecord<String, String>> records = new CopyOnWriteArrayList<>();
    private final String bootstrap;
    private final String topic;
    /** Callers of {@link #awaitCaughtUp}, answered by the reading thread (the consumer is not thread-safe). */
    private final Queue<CompletableFuture<Void>> catchUps = new ConcurrentLinkedQueue<>();
    private Thread thread;
    private volatile boolean running = true;

    public TopicReader(String bootstrap, String topic) {
        this(bootstrap, topic, true);
    }

    /** A reader that starts reading only when {@link #open()} is called (for one declared before its topic exists). */
    TopicReader(String bootstrap, String topic, boolean open) {
        this.bootstrap = bootstrap;
        this.topic = topic;
        if (open) {
            open();
        }
    }

    synchronized void open() {
        if (thread != null) {
            return;
        }
        KafkaConsumer<String, String> consumer = fromTheStart(bootstrap, topic, "test-reader");
        thread = new Thread(() -> {
            Map<CompletableFuture<Void>, Map<TopicPartition, Long>> waiting = new HashMap<>();
            try (consumer) {
                while (running) {
                    consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                    for (CompletableFuture<Void> caller; (caller = catchUps.poll()) != null; ) {
                        waiting.put(caller, ends(consumer));
                    }
                    waiting.entrySet().removeIf(wait -> reached(consumer, wait.getValue()) && wait.getKey().complete(null));
                }
            }
        }, "reader-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    /** The end offset of each partition of the topic that holds records. */
    private Map<TopicPartition, Long> ends(KafkaConsumer<String, String> consumer) {
        List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
        Map<TopicPartition, Long> ends = new HashMap<>();
        consumer.endOffsets(partitions).forEach((partition, end) -> {
            if (end > 0) {
                ends.put(partition, end);
            }
        });
        return ends;
    }

    private static boolean reached(KafkaConsumer<String, String> consumer, Map<TopicPartition, Long> ends) {
        return ends.entrySet().stream().allMatch(end ->
                consumer.assignment().contains(end.getKey()) && consumer.position(end.getKey()) >= end.getValue());
    }

    /** Returns once every record that is on the topic now has been read. */
    public void awaitCaughtUp(Duration timeout) {
        CompletableFuture<Void> caughtUp = new CompletableFuture<>();
        catchUps.add(caughtUp);
        try {
            caughtUp.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the reader of " + topic + " did not reach the topic's end within " + timeout);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A consumer of its own group (named after {@code groupPrefix}) that reads the topic from its first record. */
    public static KafkaConsumer<String, String> fromTheStart(String bootstrap, String topic, String groupPrefix) {
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, groupPrefix + "-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class));
        consumer.subscribe(List.of(topic));
        return consumer;
    }

    public List<ConsumerRecord<String, String>> records() {
        return List.copyOf(records);
    }

    /** Values parsed as JSON. */
    public List<JsonNode> events() {
        List<JsonNode> events = new ArrayList<>();
        for (ConsumerRecord<String, String> record : records) {
            try {
                events.add(JSON.readTree(record.value()));
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + record.value(), e);
            }
        }
        return events;
    }

    public List<JsonNode> events(String type) {
        return events().stream().filter(e -> type.equals(e.path("type").asText())).toList();
    }

    public List<JsonNode> awaitEvents(String type, int count, Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(50)).until(() -> events(type).size() >= count);
        return events(type);
    }

    public JsonNode awaitEvent(Predicate<JsonNode> match, Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(50)).until(() -> events().stream().anyMatch(match));
        return events().stream().filter(match).findFirst().orElseThrow();
    }

    /** The one-time state of the consent link issued to a tenant (on a consent-urls reader). */
    public String awaitConsentState(String tenant, Duration timeout) {
        JsonNode issued = awaitEvent(e -> tenant.equals(e.path("subject").asText()), timeout);
        java.util.regex.Matcher state = java.util.regex.Pattern.compile("[?&]state=([^&]+)").matcher(issued.path("data").path("consent_url").asText());
        if (!state.find()) {
            throw new AssertionError("no state in the consent link of " + tenant + ": " + issued);
        }
        return state.group(1);
    }

    @Override
    public void close() {
        running = false;
        if (thread == null) {
            return;
        }
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
