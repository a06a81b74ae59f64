package io.consentbridge.demo;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Configurator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Single-node KRaft Kafka broker (combined broker + controller) running in this JVM.
 * The storage is formatted once with a fixed cluster id and kept across restarts.
 * Not thread-safe; start/stop from one thread.
 */
public class EmbeddedKafkaBroker implements AutoCloseable {

    /** Fixed, so that a restart on an existing data directory passes the cluster.id check. */
    public static final String CLUSTER_ID = "Y29uc2VudGJyaWRnZQ";
    private static final int NODE_ID = 1;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    private final String host;
    private final int port;
    private final int controllerPort;
    private final Path dataDir;
    private final int numPartitions;
    private KafkaRaftServer server;

    public EmbeddedKafkaBroker(String host, int port, Path dataDir, int numPartitions) {
        this.host = host == null || host.isBlank() ? "localhost" : host;
        // Ports are chosen once per instance so that clients can reconnect after a restart.
        this.port = port > 0 ? port : freePort(this.host, 0);
        this.controllerPort = freePort(this.host, this.port + 1);
        this.dataDir = dataDir.toAbsolutePath().normalize();
        this.numPartitions = numPartitions;
    }

    public EmbeddedKafkaBroker(int port, Path dataDir, int numPartitions) {
        this("localhost", port, dataDir, numPartitions);
    }

    public String bootstrapServers() {
        return host + ":" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public boolean isRunning() {
        return server != null;
    }

    /** Formats the storage if needed, starts the broker and blocks until it serves clients. */
    public synchronized void start() {
        if (server != null) {
            return;
        }
        quietKafkaLogging();
        long t0 = System.nanoTime();
        Properties props = brokerProperties();
        KafkaConfig config = new KafkaConfig(props, false);
        format(props, config.metadataLogDir());
        KafkaRaftServer s = new KafkaRaftServer(config, Time.SYSTEM);
        server = s;
        try {
            s.startup();
            awaitReady();
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
        LOG.info("Embedded Kafka broker ready on {} in {} ms (data in {})",
                bootstrapServers(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), dataDir);
    }

    /** Shuts the broker down and waits until it has stopped. */
    public synchronized void stop() {
        KafkaRaftServer s = server;
        server = null;
        if (s != null) {
            s.shutdown();
            s.awaitShutdown();
            LOG.info("Embedded Kafka broker on {} stopped", bootstrapServers());
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** Creates a topic with replication factor 1; an existing topic is left as it is. */
    public void createTopic(String name, int partitions) {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("Could not create topic " + name, e.getCause());
            }
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("Could not create topic " + name, e);
        }
    }

    Properties brokerProperties() {
        Properties p = new Properties();
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("process.roles", "broker,controller");
        p.put("listeners", "PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + port);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        // Static single-voter quorum: no --standalone / dynamic quorum needed when formatting.
        p.put("controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort);
        p.put("log.dirs", dataDir.resolve("logs").toString());
        p.put("num.partitions", String.valueOf(numPartitions));
        p.put("auto.create.topics.enable", "true");
        // Single node: internal topics and acks=all / idempotent producers need RF and ISR of 1.
        p.put("offsets.topic.replication.factor", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("min.insync.replicas", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        // After a kill -9 the restarted node's new broker incarnation is only accepted once the old
        // one's session has expired (9 s by default): short values make it ready again sooner.
        p.put("broker.session.timeout.ms", "3000");
        p.put("broker.heartbeat.interval.ms", "1000");
        return p;
    }

    /**
     * Runs {@code kafka-storage format -t CLUSTER_ID -c server.properties --ignore-formatted} on
     * first start only. StorageTool.execute returns an exit code instead of calling System.exit.
     * (The Formatter class it uses lives in kafka-metadata, which is only a runtime dependency.)
     */
    private void format(Properties props, String metadataLogDir) {
        Path logDir = Path.of(metadataLogDir);
        if (Files.exists(logDir.resolve("meta.properties"))) {
            return;
        }
        try {
            Files.createDirectories(logDir);
            Path file = dataDir.resolve("server.properties");
            try (Writer w = Files.newBufferedWriter(file)) {
                props.store(w, "Embedded Kafka broker");
            }
            int rc = StorageTool.execute(new String[] {"format", "-t", CLUSTER_ID, "-c", file.toString(),
                    "--ignore-formatted"}, new PrintStream(OutputStream.nullOutputStream()));
            if (rc != 0) {
                throw new IllegalStateException("kafka-storage format exited with " + rc);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not format Kafka storage in " + logDir, e);
        }
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        try (Admin admin = admin()) {
            while (true) {
                try {
                    // Only registered, unfenced brokers are listed.
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("Interrupted while waiting for Kafka", e);
                } catch (Exception e) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("Kafka on " + bootstrapServers() + " not ready", e);
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Kafka on " + bootstrapServers() + " not ready");
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("Interrupted while waiting for Kafka", e);
                }
            }
        }
    }

    private Admin admin() {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000));
    }

    /** Returns {@code preferred} if it can be bound, otherwise a free ephemeral port. */
    private static int freePort(String host, int preferred) {
        try {
            InetAddress addr = InetAddress.getByName(host);
            if (preferred > 0 && preferred < 65536) {
                try (ServerSocket s = new ServerSocket(preferred, 1, addr)) {
                    return s.getLocalPort();
                } catch (IOException busy) {
                    // fall through to an ephemeral port
                }
            }
            try (ServerSocket s = new ServerSocket(0, 1, addr)) {
                return s.getLocalPort();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("No free port on " + host, e);
        }
    }

    /** Kafka's server side logs a lot at INFO: cap it at WARN unless the logging config names these loggers. */
    private static void quietKafkaLogging() {
        if (!(LogManager.getContext(false) instanceof LoggerContext ctx)) {
            return;
        }
        Configuration cfg = ctx.getConfiguration();
        for (String name : List.of("kafka", "state.change.logger", "org.apache.kafka.server",
                "org.apache.kafka.raft", "org.apache.kafka.controller", "org.apache.kafka.metadata",
                "org.apache.kafka.image", "org.apache.kafka.storage", "org.apache.kafka.coordinator",
                "org.apache.kafka.snapshot", "org.apache.kafka.queue", "org.apache.kafka.security",
                "org.apache.zookeeper")) {
            Level current = cfg.getLoggerConfig(name).getLevel();
            if (!cfg.getLoggers().containsKey(name) && current.isLessSpecificThan(Level.INFO)) {
                Configurator.setLevel(name, Level.WARN);
            }
        }
    }
}
