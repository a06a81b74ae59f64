package io.consentbridge.support;

import io.consentbridge.ConsentBridge;
import io.consentbridge.ledger.GrantQueue;
import io.consentbridge.nylas.NylasStandIn;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.main.Main;
import org.apache.camel.test.AvailablePortFinder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The real application, started in-process the way the launcher starts it, against the shared
 * Kafka broker, an H2 ledger in a temporary folder and the Nylas stand-in. Each instance has its
 * own topic names and consumer group, so tests do not see each other's records.
 *
 * <p>Also a JUnit 5 extension that starts it (healthy), opens its {@link #reader readers} and closes
 * both: for the whole class when registered on a static field, for each test on an instance field.
 * <pre>
 * &#64;RegisterExtension
 * static final BridgeUnderTest bridge = new BridgeUnderTest().with("consent.ttl", "PT3S");
 * static final TopicReader results = bridge.reader("results");
 * </pre>
 */
public final class BridgeUnderTest implements AutoCloseable, BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    public static final String API_KEY = "nyk_test_api_key_5f1c2d";
    public static final String CLIENT_ID = "nylas-client-7d3e";
    public static final String ADMIN_TOKEN = "admin-token-3b9a";

    public final NylasStandIn nylas;
    public final Map<String, String> settings = new HashMap<>();
    public final int httpPort;
    public final int managementPort;
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    /** How long a wait for the bridge to finish its work may take before the test fails. */
    static final Duration SETTLE = Duration.ofSeconds(60);
    private Main main;
    private Thread runner;
    private KafkaProducer<String, String> producer;
    private final String bootstrap;
    private final Map<String, TopicReader> readers = new LinkedHashMap<>();
    private boolean healthy;
    private boolean forTheClass;

    public BridgeUnderTest() {
        this(new NylasStandIn(API_KEY, CLIENT_ID).start(), null, null);
    }

    /**
     * @param shared settings of another instance to share topics, group and database with (null: new ones)
     */
    public BridgeUnderTest(NylasStandIn nylas, Map<String, String> shared, String dbUrl) {
        this(nylas, shared, dbUrl, SharedKafka.bootstrapServers());
    }

    /** An instance on a Kafka broker of the test's own (one it can stop), instead of the shared one. */
    public BridgeUnderTest(NylasStandIn nylas, String bootstrapServers) {
        this(nylas, null, null, bootstrapServers);
    }

    private BridgeUnderTest(NylasStandIn nylas, Map<String, String> shared, String dbUrl, String bootstrapServers) {
        this.nylas = nylas;
        this.bootstrap = bootstrapServers;
        this.httpPort = AvailablePortFinder.getNextAvailable();
        this.managementPort = AvailablePortFinder.getNextAvailable();
        String id = UUID.randomUUID().toString().substring(0, 8);
        if (shared != null) {
            settings.putAll(shared);
        } else {
            settings.put("topics.onboarding", "onboarding-" + id);
            settings.put("topics.mailboxes", "mailboxes-" + id);
            settings.put("topics.consent-urls", "consent-urls-" + id);
            settings.put("topics.results", "results-" + id);
            settings.put("topics.dlq", "dlq-" + id);
            settings.put("topics.commands", "commands-" + id);
            settings.put("kafka.group-id", "bridge-" + id);
            settings.put("ledger.url", dbUrl != null ? dbUrl : "jdbc:h2:file:" + tempDir().resolve("ledger").toAbsolutePath());
            settings.put("nylas.api-key", API_KEY);
            settings.put("nylas.client-id", CLIENT_ID);
            settings.put("admin.token", ADMIN_TOKEN);
            settings.put("nylas.retry.initial-delay-ms", "50");
            settings.put("nylas.retry.max-delay-ms", "500");
            settings.put("outbox.poll-interval-ms", "50");
            // The claims' and relay's back-off at rest as in production, shorter: a test's next step waits
            // at most 200 ms after a quiet spell, not 450 (the suite ran a minute longer with 9).
            settings.put("ledger.idle-rounds-skipped", "3");
            settings.put("consent.expiry-check-interval-ms", "500");
            // Finished records are committed after the next poll: a test that waits for the commits waits
            // at most 200 ms for them, not a second.
            settings.put("camel.component.kafka.poll-timeout-ms", "200");
        }
        settings.put("camel.component.kafka.brokers", bootstrap);
        settings.put("nylas.api-uri", nylas.baseUri());
        settings.put("camel.server.port", String.valueOf(httpPort));
        settings.put("camel.management.port", String.valueOf(managementPort));
        settings.put("consent.redirect-uri", "http://localhost:" + httpPort + "/nylas/admin-consent/callback");
    }

    public BridgeUnderTest with(String key, String value) {
        settings.put(key, value);
        return this;
    }

    public BridgeUnderTest start() {
        startWithoutWaiting();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> get(managementUri("/observe/health"), null).statusCode() == 200);
        // Readers only once the bridge is up: it creates its topics.
        synchronized (readers) {
            healthy = true;
            readers.values().forEach(TopicReader::open);
        }
        return this;
    }

    /** Registered on a static field: one bridge for the class (a test may stop it early; it is not restarted). */
    @Override
    public void beforeAll(ExtensionContext context) {
        forTheClass = true;
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    /** Registered on an instance field (JUnit then calls no beforeAll): a bridge for each test. */
    @Override
    public void beforeEach(ExtensionContext context) {
        if (!forTheClass) {
            start();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!forTheClass) {
            close();
        }
    }

    /** Starts the application and returns at once, healthy or not (a test of what makes it unhealthy). */
    public BridgeUnderTest startWithoutWaiting() {
        main = ConsentBridge.create(settings);
        runner = new Thread(() -> {
            try {
                main.run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "bridge-main");
        runner.setDaemon(true);
        runner.start();
        return this;
    }

    public void stop() {
        if (main != null) {
            main.completed();
            try {
                runner.join(60000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            main = null;
        }
    }

    public String topic(String name) {
        return settings.get("topics." + name);
    }

    /**
     * The reader of one of this bridge's topics (by its short name, e.g. {@code "results"}), reading
     * from the topic's first record: one per topic, opened once the bridge is healthy, closed with it.
     */
    public TopicReader reader(String name) {
        synchronized (readers) {
            return readers.computeIfAbsent(name, n -> new TopicReader(bootstrap, topic(n), healthy));
        }
    }

    /** The Kafka cluster the bridge uses. */
    public String bootstrap() {
        return bootstrap;
    }

    /** The running application's Camel context, for a {@link NotifyBuilder}. */
    public CamelContext context() {
        if (main == null || main.getCamelContext() == null) {
            throw new IllegalStateException("the bridge is not running");
        }
        return main.getCamelContext();
    }

    /**
     * Returns once everything the bridge had recorded for publishing by now is on Kafka and every
     * reader of this bridge has read its topic to the end: the outbox relay has finished a round that
     * claimed nothing (its body, the claimed rows, is empty), after this call. Nothing to publish can be waiting after that, so a test
     * may assert that no further event came.
     */
    public void awaitPublished() {
        NotifyBuilder emptyRound = new NotifyBuilder(context()).fromRoute("outbox-relay")
                .whenAnyDoneMatches(round -> round.getMessage().getBody() instanceof Collection<?> claimed && claimed.isEmpty()).create();
        assertThat(emptyRound.matches(SETTLE.toSeconds(), TimeUnit.SECONDS))
                .as("the outbox relay finished a round with nothing left to send").isTrue();
        List<TopicReader> open;
        synchronized (readers) {
            open = List.copyOf(readers.values());
        }
        open.forEach(reader -> reader.awaitCaughtUp(SETTLE));
    }

    /**
     * Returns once the bridge's consumer group has committed every record now on these topics (by
     * short name). The routes commit a record only after its work is done, so this also waits for the
     * work.
     */
    public void awaitConsumed(String... names) {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            for (String name : names) {
                String topic = topic(name);
                Map<Integer, Long> ends = ends(admin, topic);
                await().atMost(SETTLE).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                        assertThat(committed(admin, topic)).as("committed offsets of " + topic).isEqualTo(ends));
            }
        }
    }

    /**
     * Returns once the bridge has done all it will do with what it was given so far: every request
     * consumed, all the grant work it led to done (its Nylas call made, its outcome recorded), every
     * resulting event published and read by this bridge's readers.
     */
    public void awaitIdle() {
        awaitConsumed("onboarding", "mailboxes");
        awaitPublished();
        awaitGrantWorkDone();
        awaitPublished();
    }

    /** Returns once no grant work waits in the ledger: every call made and its outcome recorded. */
    public void awaitGrantWorkDone() {
        GrantQueue queue = context().getRegistry().lookupByNameAndType("grantQueue", GrantQueue.class);
        await().atMost(SETTLE).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                assertThat(queue.waiting()).as("grant work waiting in the ledger").isZero());
    }

    /** Per partition of the topic (by short name), the offset the bridge's consumer group committed. */
    public Map<Integer, Long> committedOffsets(String name) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            return committed(admin, topic(name));
        }
    }

    /** Per partition with an offset committed by the bridge's consumer group, that offset. */
    private Map<Integer, Long> committed(Admin admin, String topic) throws Exception {
        Map<Integer, Long> offsets = new TreeMap<>();
        admin.listConsumerGroupOffsets(settings.get("kafka.group-id")).partitionsToOffsetAndMetadata().get()
                .forEach((partition, offset) -> {
                    if (partition.topic().equals(topic) && offset != null) {
                        offsets.put(partition.partition(), offset.offset());
                    }
                });
        return offsets;
    }

    /** Per partition that holds records, its end offset (none for a topic that does not exist yet). */
    private static Map<Integer, Long> ends(Admin admin, String topic) {
        Map<Integer, Long> ends = new TreeMap<>();
        try {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
                    .forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            admin.listOffsets(latest).all().get().forEach((partition, info) -> {
                if (info.offset() > 0) {
                    ends.put(partition.partition(), info.offset());
                }
            });
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                throw new IllegalStateException(e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return ends;
    }

    public void send(String topicName, String key, String value) {
        send(topicName, key, value, Map.of());
    }

    /** A record with headers (values in UTF-8), as a CloudEvents binary-mode producer writes it. */
    public void send(String topicName, String key, String value, Map<String, String> headers) {
        if (producer == null) {
            producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ProducerConfig.ACKS_CONFIG, "all",
                    // Records up to the broker's own limit (about 1 MB), as a real upstream may send.
                    ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1_100_000,
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
        }
        try {
            ProducerRecord<String, String> record = new ProducerRecord<>(topic(topicName), key, value);
            headers.forEach((name, header) -> record.headers().add(name, header.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            producer.send(record).get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public URI callbackUri(String query) {
        return URI.create("http://localhost:" + httpPort + "/nylas/admin-consent/callback" + (query == null ? "" : "?" + query));
    }

    public URI managementUri(String path) {
        return URI.create("http://localhost:" + managementPort + path);
    }

    public HttpResponse<String> get(URI uri, String bearer) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Follows a consent link as the admin's browser does: Nylas's redirect, then our callback. */
    public HttpResponse<String> consentVia(String consentUrl) {
        HttpResponse<String> nylasAnswer = get(URI.create(consentUrl), null);
        if (nylasAnswer.statusCode() != 302) {
            throw new AssertionError("Nylas stand-in answered " + nylasAnswer.statusCode() + ": " + nylasAnswer.body());
        }
        return get(URI.create(nylasAnswer.headers().firstValue("Location").orElseThrow()), null);
    }

    @Override
    public void close() {
        stop();
        synchronized (readers) {
            readers.values().forEach(TopicReader::close);
        }
        if (producer != null) {
            producer.close();
        }
        nylas.close();
    }

    static Path tempDir() {
        try {
            return Files.createTempDirectory("consent-bridge-test");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

}
