package io.consentbridge.support;

import org.apache.camel.test.AvailablePortFinder;
import io.consentbridge.ConsentBridge;
import io.consentbridge.nylas.NylasStandIn;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.camel.main.Main;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.awaitility.Awaitility.await;

/**
 * The real application, started in-process the way the launcher starts it, against the shared
 * Kafka broker, an H2 ledger in a temporary folder and the Nylas stand-in. Each instance has its
 * own topic names and consumer group, so tests do not see each other's records.
 */
public final class BridgeUnderTest implements AutoCloseable {
    public static final String API_KEY = "nyk_test_api_key_5f1c2d";
    public static final String CLIENT_ID = "nylas-client-7d3e";
    public static final String ADMIN_TOKEN = "admin-token-3b9a";

    public final NylasStandIn nylas;
    public final Map<String, String> settings = new HashMap<>();
    public final int httpPort;
    public final int managementPort;
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    private Main main;
    private Thread runner;
    private KafkaProducer<String, String> producer;
    private final String bootstrap;

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
            settings.put("topics.grant-work", "grant-work-" + id);
            settings.put("kafka.group-id", "bridge-" + id);
            settings.put("ledger.url", dbUrl != null ? dbUrl : "jdbc:h2:file:" + tempDir().resolve("ledger").toAbsolutePath());
            settings.put("nylas.api-key", API_KEY);
            settings.put("nylas.client-id", CLIENT_ID);
            settings.put("admin.token", ADMIN_TOKEN);
            settings.put("nylas.retry.initial-delay-ms", "50");
            settings.put("nylas.retry.max-delay-ms", "500");
            settings.put("outbox.poll-interval-ms", "50");
            settings.put("consent.expiry-check-interval-ms", "500");
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
        return this;
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

    public TopicReader reader(String name) {
        return new TopicReader(bootstrap, topic(name));
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
