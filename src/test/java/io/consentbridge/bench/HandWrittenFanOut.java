package io.consentbridge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.consentbridge.ledger.LedgerDatabase;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a grant is, written by hand: the yardstick GrantCostBenchmark holds the bundle against. For
 * each of N mailboxes of one tenant: {@code POST /v3/connect/custom} (java.net.http), one ledger row
 * committed on its own (plain JDBC, H2 with the bundle's settings), one grant.created event
 * (kafka-clients, acks=all, idempotent). As many workers and the same rate cap as the bundle's
 * defaults (grants.consumers, nylas.max-requests-per-second in application.properties). No retries:
 * a failure is counted, and the exit status is 1.
 *
 * <p>Arguments: bootstrap servers, Nylas base URI, API key, ledger directory, N, topic, and optionally
 * the credential id (default {@code bench-credential}) and tenant id (default {@code hand-written}).
 * With N = 0 it only starts (opens the ledger, connects to Kafka) and stops: its start-up cost.
 * Prints one line, the counts.
 */
public final class HandWrittenFanOut {
    static final ObjectMapper JSON = new ObjectMapper();

    private HandWrittenFanOut() {
    }

    public static void main(String[] args) throws Exception {
        Arguments a = Arguments.of("HandWrittenFanOut", args);
        int mailboxes = a.mailboxes();
        String topic = a.topic();
        String credentialId = a.credentialId();
        String tenant = a.tenant();
        Properties defaults = bundleDefaults();
        int workers = setting(defaults, "grants.consumers");
        int perSecond = setting(defaults, "nylas.max-requests-per-second");

        Files.createDirectories(a.ledgerDir());
        // The bundle's H2 settings, as every H2 ledger gets them.
        String jdbcUrl = LedgerDatabase.jdbcUrl("jdbc:h2:file:" + a.ledgerDir().resolve("hand-written").toAbsolutePath());
        try (Connection setup = DriverManager.getConnection(jdbcUrl); Statement ddl = setup.createStatement()) {
            ddl.execute("create table if not exists mailbox_grant (tenant_id varchar(128) not null, email varchar(320) not null,"
                    + " grant_id varchar(128) not null, grant_status varchar(32), nylas_request_id varchar(128),"
                    + " updated_at timestamp with time zone not null, primary key (tenant_id, email))");
        }
        KafkaProducer<String, String> producer = producer(a.bootstrap(), topic);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

        // At most perSecond calls start in any 1-second window: a permit comes back 1 s after it was taken.
        Semaphore permits = new Semaphore(perSecond);
        ScheduledExecutorService releaser = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rate-releaser");
            t.setDaemon(true);
            return t;
        });
        AtomicInteger next = new AtomicInteger();
        AtomicInteger granted = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger acked = new AtomicInteger();
        AtomicInteger unsent = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            Thread worker = new Thread(() -> {
                try (Connection ledger = DriverManager.getConnection(jdbcUrl);
                     PreparedStatement insert = prepare(ledger)) {
                    for (int i = next.getAndIncrement(); i < mailboxes; i = next.getAndIncrement()) {
                        String email = tenant + "-" + i + "@bench.example.com";
                        permits.acquireUninterruptibly();
                        releaser.schedule((Runnable) permits::release, 1, TimeUnit.SECONDS);
                        try {
                            HttpResponse<byte[]> answer = http.send(grantRequest(a.connectCustom(), a.apiKey(), email, credentialId),
                                    HttpResponse.BodyHandlers.ofByteArray());
                            if (answer.statusCode() / 100 != 2) {
                                failed.incrementAndGet();
                                continue;
                            }
                            JsonNode answered = JSON.readTree(answer.body());
                            JsonNode grant = answered.path("data");
                            String grantId = grant.path("id").asText();
                            insert.setString(1, tenant);
                            insert.setString(2, email);
                            insert.setString(3, grantId);
                            insert.setString(4, grant.path("grant_status").asText(null));
                            insert.setString(5, answered.path("request_id").asText(null));
                            insert.setTimestamp(6, Timestamp.from(Instant.now()));
                            insert.executeUpdate();
                            ledger.commit();
                            granted.incrementAndGet();
                            producer.send(new ProducerRecord<>(topic, tenant, grantCreated(tenant, credentialId, email, grantId, grant)),
                                    (metadata, error) -> (error == null ? acked : unsent).incrementAndGet());
                        } catch (Exception e) {
                            failed.incrementAndGet();
                            ledger.rollback();
                        }
                    }
                } catch (Exception e) {
                    failed.incrementAndGet();
                }
            }, "grant-worker-" + w);
            worker.start();
            threads.add(worker);
        }
        for (Thread worker : threads) {
            worker.join();
        }
        producer.close(); // sends what is buffered and waits for every acknowledgement
        int rows;
        try (Connection ledger = DriverManager.getConnection(jdbcUrl);
             PreparedStatement count = ledger.prepareStatement("select count(*) from mailbox_grant where tenant_id = ?")) {
            count.setString(1, tenant);
            try (ResultSet result = count.executeQuery()) {
                result.next();
                rows = result.getInt(1);
            }
        }
        System.out.printf("HandWrittenFanOut: mailboxes=%d granted=%d ledger_rows=%d events_acked=%d failed=%d unsent=%d workers=%d cap=%d/s%n",
                mailboxes, granted.get(), rows, acked.get(), failed.get(), unsent.get(), workers, perSecond);
        System.exit(granted.get() == mailboxes && acked.get() == mailboxes ? 0 : 1);
    }

    private static PreparedStatement prepare(Connection ledger) throws Exception {
        ledger.setAutoCommit(false);
        return ledger.prepareStatement("insert into mailbox_grant (tenant_id, email, grant_id, grant_status, nylas_request_id, updated_at)"
                + " values (?, ?, ?, ?, ?, ?)");
    }

    /** The command line both hand-written programs take. */
    record Arguments(String bootstrap, URI connectCustom, String apiKey, Path ledgerDir, int mailboxes, String topic,
                     String credentialId, String tenant) {
        static Arguments of(String program, String[] args) {
            if (args.length < 6) {
                System.err.println("usage: " + program + " <bootstrap servers> <nylas base uri> <api key> <ledger dir> <N> <topic>"
                        + " [credential id] [tenant id]");
                System.exit(2);
            }
            return new Arguments(args[0], URI.create(args[1] + "/v3/connect/custom"), args[2], Path.of(args[3]), Integer.parseInt(args[4]),
                    args[5], args.length > 6 ? args[6] : "bench-credential", args.length > 7 ? args[7] : program);
        }
    }

    /** A setting as the bundle has it by default (application.properties), or as -D gives it. */
    static int setting(Properties defaults, String name) {
        return Integer.parseInt(System.getProperty(name, defaults.getProperty(name)).trim());
    }

    /**
     * A producer with the bundle's acks=all and idempotence, connected before the first grant, as the bundle is;
     * otherwise kafka-clients' defaults: records leave at once (linger 0), where the bundle's producers linger
     * up to 5 ms (camel.component.kafka.linger-ms).
     */
    static KafkaProducer<String, String> producer(String bootstrap, String topic) {
        KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
        producer.partitionsFor(topic);
        return producer;
    }

    /** {@code POST /v3/connect/custom} for one mailbox. */
    static HttpRequest grantRequest(URI connectCustom, String apiKey, String email, String credentialId) throws Exception {
        ObjectNode body = JSON.createObjectNode().put("provider", "microsoft");
        body.putObject("settings").put("email_address", email).put("credential_id", credentialId);
        return HttpRequest.newBuilder(connectCustom)
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + apiKey)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                .build();
    }

    /** A CloudEvents-shaped grant.created, as the contract describes it (§2), written with plain Jackson. */
    static String grantCreated(String tenant, String credentialId, String email, String grantId, JsonNode grant) throws Exception {
        ObjectNode event = JSON.createObjectNode()
                .put("specversion", "1.0")
                .put("id", UUID.randomUUID().toString())
                .put("source", "consent-bridge")
                .put("type", "grant.created")
                .put("time", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString())
                .put("subject", tenant)
                .put("datacontenttype", "application/json");
        ObjectNode data = event.putObject("data")
                .put("request_id", "hand-written")
                .put("tenant_id", tenant)
                .put("credential_id", credentialId)
                .put("email", email)
                .put("grant_id", grantId)
                .put("grant_status", grant.path("grant_status").asText(null));
        if (grant.has("scope")) {
            data.set("scope", grant.get("scope").deepCopy());
        }
        return JSON.writeValueAsString(event);
    }

    /** The bundle's own defaults (application.properties is on the class path, as in the jar). */
    static Properties bundleDefaults() throws Exception {
        Properties properties = new Properties();
        try (InputStream in = HandWrittenFanOut.class.getClassLoader().getResourceAsStream("application.properties")) {
            if (in == null) {
                throw new IllegalStateException("application.properties is not on the class path");
            }
            properties.load(new InputStreamReader(in, StandardCharsets.UTF_8));
        }
        return properties;
    }
}
