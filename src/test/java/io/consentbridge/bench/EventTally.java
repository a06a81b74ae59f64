package io.consentbridge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads one topic from its start in the background and counts its events by type and by key (the mailbox
 * for grant events, the tenant for the others), each record parsed once; keeps the consent links by tenant
 * and the moment the latest event of each type was read. Only events whose tenant (the CloudEvent subject)
 * starts with the watched prefix count, so one reader serves one benchmark cell after another.
 */
final class EventTally implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Thread thread;
    private volatile boolean running = true;
    private volatile String prefix = "\u0000";
    private final Map<String, AtomicInteger> byType = new ConcurrentHashMap<>();
    private final Map<String, Map<String, AtomicInteger>> byKey = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> lastReadNanos = new ConcurrentHashMap<>();
    private final Map<String, String> consentUrls = new ConcurrentHashMap<>();

    EventTally(String bootstrap, String topic) {
        KafkaConsumer<String, String> consumer = TopicReader.fromTheStart(bootstrap, topic, "scale-bench");
        thread = new Thread(() -> {
            try (consumer) {
                while (running) {
                    consumer.poll(Duration.ofMillis(20)).forEach(record -> tally(record.value()));
                }
            }
        }, "scale-tally-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    private void tally(String value) {
        JsonNode event;
        try {
            event = JSON.readTree(value);
        } catch (Exception notJson) {
            byType.computeIfAbsent("(not JSON)", t -> new AtomicInteger()).incrementAndGet();
            return;
        }
        String tenant = event.path("subject").asText();
        if (!tenant.startsWith(prefix)) {
            return;
        }
        String type = event.path("type").asText();
        JsonNode data = event.path("data");
        String key = data.hasNonNull("email") ? data.get("email").asText() : tenant;
        if (data.hasNonNull("consent_url")) {
            consentUrls.put(tenant, data.get("consent_url").asText());
        }
        byKey.computeIfAbsent(type, t -> new ConcurrentHashMap<>()).computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        lastReadNanos.computeIfAbsent(type, t -> new AtomicLong()).set(System.nanoTime());
        byType.computeIfAbsent(type, t -> new AtomicInteger()).incrementAndGet();
    }

    /** Counts from now on only the events of tenants whose id starts with this prefix; forgets earlier counts. */
    synchronized void watch(String tenantPrefix) {
        prefix = tenantPrefix;
        byType.clear();
        byKey.clear();
        lastReadNanos.clear();
        consentUrls.clear();
    }

    int count(String type) {
        AtomicInteger n = byType.get(type);
        return n == null ? 0 : n.get();
    }

    /** How many distinct keys (mailboxes, or tenants) have events of this type. */
    int distinct(String type) {
        Map<String, AtomicInteger> keys = byKey.get(type);
        return keys == null ? 0 : keys.size();
    }

    /** Keys with more than one event of this type. */
    long repeated(String type) {
        Map<String, AtomicInteger> keys = byKey.get(type);
        return keys == null ? 0 : keys.values().stream().filter(n -> n.get() > 1).count();
    }

    /** System.nanoTime() when the latest event of this type was read; 0 if none was. */
    long lastRead(String type) {
        AtomicLong at = lastReadNanos.get(type);
        return at == null ? 0 : at.get();
    }

    String consentUrl(String tenant) {
        return consentUrls.get(tenant);
    }

    /** Waits until {@code count} events of the type have been read; false if the timeout passed first. */
    boolean await(String type, int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (count(type) < count) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5000);
    }
}
