package io.consentbridge;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.consentbridge.callback.CallbackPages;
import io.consentbridge.callback.ConsentCallback;
import io.consentbridge.consent.ConsentLinks;
import io.consentbridge.events.EventEnvelope;
import io.consentbridge.events.ResultEvents;
import io.consentbridge.grants.GrantWorkersStopped;
import io.consentbridge.inbound.InboundRequests;
import io.consentbridge.kafka.KafkaOffsets;
import io.consentbridge.kafka.HandOverOnRevoke;
import io.consentbridge.kafka.OffsetsInOrder;
import io.consentbridge.kafka.TenantLanes;
import io.consentbridge.kafka.OutboxMessages;
import io.consentbridge.kafka.LedgerSharingCheck;
import io.consentbridge.kafka.LedgerTaggedClients;
import io.consentbridge.kafka.TopicSetup;
import io.consentbridge.ledger.ConsentLedger;
import io.consentbridge.ledger.LedgerDatabase;
import io.consentbridge.ledger.LedgerIdentity;
import io.consentbridge.ledger.Outbox;
import io.consentbridge.ledger.GrantHealth;
import io.consentbridge.ledger.GrantQueue;
import io.consentbridge.ledger.InstanceHeartbeat;
import io.consentbridge.ledger.SharedCallTimeline;
import io.consentbridge.ledger.TenantLifecycle;
import io.consentbridge.ledger.TenantOverview;
import io.consentbridge.nylas.GrantListing;
import io.consentbridge.webhooks.NylasWebhooks;
import io.consentbridge.nylas.HttpMethodConverter;
import io.consentbridge.nylas.NylasAnswers;
import io.consentbridge.nylas.NylasCallHeaders;
import io.consentbridge.nylas.NylasCalls;
import io.consentbridge.nylas.NylasHttpClientConfigurer;
import io.consentbridge.nylas.CallTimeline;
import io.consentbridge.nylas.NylasRateBudget;
import io.consentbridge.nylas.NylasRateGovernor;
import io.consentbridge.ops.BridgeMetrics;
import io.consentbridge.ops.DeadLetters;
import io.micrometer.core.instrument.MeterRegistry;
import io.consentbridge.ops.KafkaHealthCheck;
import io.consentbridge.ops.LedgerHealthCheck;
import io.consentbridge.ops.LogContextUnitOfWork;
import io.consentbridge.ops.OperatorPage;
import io.consentbridge.ops.RoundFailures;
import io.consentbridge.ops.TenantStatusEndpoint;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.camel.component.kafka.KafkaComponent;
import org.apache.camel.PropertyInject;
import org.apache.camel.StartupListener;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.spi.Registry;
import org.apache.camel.spi.UnitOfWorkFactory;

import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.support.service.ServiceSupport;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Binds the beans the YAML routes call, from the settings in application.properties. */
public class BridgeConfiguration implements CamelConfiguration {
    @PropertyInject("camel.component.kafka.brokers")
    String brokers;
    @PropertyInject("nylas.api-uri")
    String nylasApiUri;
    @PropertyInject("nylas.api-key")
    String nylasApiKey;
    @PropertyInject("nylas.client-id")
    String nylasClientId;
    @PropertyInject("nylas.max-requests-per-second")
    int nylasMaxRps;
    @PropertyInject("nylas.retry.max-retry-after")
    String maxRetryAfter;
    @PropertyInject("consent.redirect-uri")
    String redirectUri;
    @PropertyInject("consent.ttl")
    String consentTtl;
    @PropertyInject(value = "admin.token", defaultValue = "")
    String adminToken;
    @PropertyInject("ledger.url")
    String ledgerUrl;
    @PropertyInject(value = "ledger.user", defaultValue = "")
    String ledgerUser;
    @PropertyInject(value = "ledger.password", defaultValue = "")
    String ledgerPassword;
    @PropertyInject("ledger.pool-size")
    int ledgerPoolSize;
    @PropertyInject(value = "ledger.callback-pool-size", defaultValue = "4")
    int callbackPoolSize;
    @PropertyInject("topics.onboarding")
    String onboardingTopic;
    @PropertyInject("topics.mailboxes")
    String mailboxTopic;
    @PropertyInject("topics.consent-urls")
    String consentUrlTopic;
    @PropertyInject("topics.results")
    String resultTopic;
    @PropertyInject("topics.dlq")
    String dlqTopic;
    @PropertyInject("topics.commands")
    String commandTopic;
    @PropertyInject("credential.secret-expiry-warning")
    String secretExpiryWarning;
    @PropertyInject(value = "nylas.webhook-secret", defaultValue = "")
    String webhookSecret;
    @PropertyInject("reconcile.interval")
    String reconcileInterval;
    @PropertyInject(value = "instances.leave-after", defaultValue = "PT3S")
    String instancesLeaveAfter;
    @PropertyInject(value = "nylas.rate-budget.fill", defaultValue = "0.92")
    double rateBudgetFill;
    @PropertyInject(value = "nylas.rate-budget.warm-up", defaultValue = "PT10S")
    String rateBudgetWarmUp;
    @PropertyInject("grants.consumers")
    int grantWorkers;
    @PropertyInject(value = "onboarding.concurrency", defaultValue = "32")
    int onboardingConcurrency;
    @PropertyInject(value = "commands.concurrency", defaultValue = "8")
    int commandConcurrency;
    @PropertyInject(value = "grants.commit-linger", defaultValue = "PT0.06S")
    String grantCommitLinger;
    @PropertyInject("kafka.group-id")
    String groupId;
    /** {@code --check}: build everything, connect to nothing (see RouteCheck). */
    @PropertyInject(value = "bridge.check-only", defaultValue = "false")
    boolean checkOnly;
    @PropertyInject(value = "ledger.sharing-check-interval", defaultValue = "PT15S")
    String sharingCheckInterval;
    @PropertyInject(value = "health.check-interval", defaultValue = "PT1S")
    String healthCheckInterval;

    @Override
    public void configure(CamelContext context) throws Exception {
        Registry registry = context.getRegistry();
        HttpMethodConverter.registerIn(context);
        // A record's tenant_id and request_id follow its exchange from thread to thread (log lines).
        context.getCamelContextExtension().addContextPlugin(UnitOfWorkFactory.class, new LogContextUnitOfWork.Factory());
        // No module discovery: it finds only the Scala and Jdk8 modules that the embedded broker's jars
        // bring, and the Scala one loads some 600 Scala classes at every start; nothing the bundle reads
        // or writes is a Scala or Optional value.
        ObjectMapper mapper = JsonMapper.builder().build();
        Clock clock = Clock.systemUTC();

        HikariDataSource dataSource;
        try {
            dataSource = LedgerDatabase.open(ledgerUrl, blankToNull(ledgerUser), blankToNull(ledgerPassword), ledgerPoolSize);
        } catch (RuntimeException e) {
            throw new StartupFailure.Problem("DB_URL (ledger.url) = \"" + ledgerUrl + "\": the ledger database cannot be opened: "
                    + StartupFailure.describe(e), e);
        }
        // Callbacks come from the internet: a flood of them (valid-looking states included) waits
        // on its own few connections, never on the consumers' pool or the health check's.
        HikariDataSource callbackDataSource = LedgerDatabase.openExtra("ledger-callbacks", ledgerUrl,
                blankToNull(ledgerUser), blankToNull(ledgerPassword), callbackPoolSize);
        HikariDataSource healthDataSource = LedgerDatabase.openExtra("ledger-health", ledgerUrl,
                blankToNull(ledgerUser), blankToNull(ledgerPassword), 1);
        EventEnvelope events = new EventEnvelope(mapper, clock);
        ResultEvents results = new ResultEvents(events, resultTopic);
        ConsentLedger ledger = new ConsentLedger(dataSource, clock, results, mapper);
        // A burst of callbacks shares its commits: each answer still waits for its own to be durable.
        // H2 writes one commit at a time, so one writer with larger groups is fastest there; PostgreSQL
        // commits in parallel, so it gets a writer per callback connection (CallbackBenchmark, 200 at once,
        // p99 above the HTTP floor: H2 +48..98 ms with one writer, +154 with four; PostgreSQL +130..156
        // with four, +250 with one).
        // An H2 file is one process's ledger; PostgreSQL may be shared by several instances.
        boolean h2 = ledgerUrl.startsWith("jdbc:h2:");
        int writers = h2 ? 1 : callbackPoolSize;
        ConsentLedger callbackLedger = ConsentLedger.groupCommitting(callbackDataSource, writers, 100, clock, results, mapper);
        ConsentLedger healthLedger = new ConsentLedger(healthDataSource, clock, results, mapper);
        // The grant workers' outcomes share commits too (GrantCostBenchmark: on H2 each commit rewrites
        // the pages it touched, and one tenant's outcomes touch the same few).
        // On PostgreSQL a writer per two workers, leaving two of the pool's connections to the claims,
        // the relay and the timers.
        int grantWriters = writers == 1 ? 1 : Math.max(1, Math.min(grantWorkers / 2, ledgerPoolSize - 2));
        ConsentLedger grantLedger = ConsentLedger.lingering(dataSource, "grant-group-commit", grantWriters,
                grantWorkers, Duration.parse(grantCommitLinger), clock, results, mapper);
        // Closed after the routes have stopped, so in-flight work can still record its outcome.
        stopWith(context, () -> {
            callbackLedger.close();
            grantLedger.close();
            healthDataSource.close();
            callbackDataSource.close();
            dataSource.close();
        });
        NylasRateGovernor rate = new NylasRateGovernor(nylasMaxRps);

        registry.bind("ledgerDataSource", dataSource);
        registry.bind("ledger", ledger);
        registry.bind("grantLedger", grantLedger);
        registry.bind("lifecycle", new TenantLifecycle(dataSource, clock, results, Duration.parse(secretExpiryWarning)));
        String instanceId = UUID.randomUUID().toString();
        registry.bind("grantHealth", new GrantHealth(dataSource, clock, results, instanceId, Duration.parse(reconcileInterval)));
        // Nylas sends notifications in floods (thousands when a tenant's consent is revoked): they share
        // commits on the callbacks' connections, each answered only once its own is durable.
        GrantHealth notifications = GrantHealth.groupCommitting(callbackDataSource, writers, 100, clock, results);
        stopWith(context, notifications::close);
        registry.bind("notifications", notifications);
        registry.bind("nylasWebhooks", new NylasWebhooks(webhookSecret, mapper));
        registry.bind("grantListing", new GrantListing());
        registry.bind("consentLinks", new ConsentLinks(nylasApiUri, nylasClientId, redirectUri, clock, Duration.parse(consentTtl)));
        registry.bind("resultEvents", results);
        registry.bind("outbox", new Outbox(dataSource, clock, instanceId));
        registry.bind("outboxMessages", new OutboxMessages());
        GrantQueue grantQueue = new GrantQueue(dataSource, instanceId, 2 * grantWorkers);
        registry.bind("grantQueue", grantQueue);
        registry.bind("grantWorkersStopped", new GrantWorkersStopped(grantQueue));
        InboundRequests inbound = new InboundRequests();
        registry.bind("inboundRequests", inbound);
        registry.bind("deadLetters", new DeadLetters(events, inbound, mapper));
        registry.bind("kafkaOffsets", new KafkaOffsets());
        // Onboarding requests and lifecycle commands of different tenants at once, offsets committed in
        // order (routes/onboarding.camel.yaml, routes/commands.camel.yaml).
        OffsetsInOrder onboardingOffsets = new OffsetsInOrder();
        OffsetsInOrder commandOffsets = new OffsetsInOrder();
        TenantLanes onboardingLanes = bindLanes(context, "onboarding", onboardingOffsets, onboardingConcurrency);
        TenantLanes commandLanes = bindLanes(context, "command", commandOffsets, commandConcurrency);
        // Partitions taken away from a consumer: their work in flight is finished and committed first.
        registry.bind("subscribeAdapter", new HandOverOnRevoke(List.of(onboardingOffsets, commandOffsets), Duration.ofSeconds(15)));
        registry.bind("nylasCalls", new NylasCalls(mapper));
        registry.bind("roundFailures", new RoundFailures(clock, Duration.ofSeconds(30)));
        registry.bind("nylasCallHeaders", new NylasCallHeaders());
        BridgeMetrics metrics = new BridgeMetrics();
        registry.bind("metrics", metrics);
        registry.bind("nylasAnswers", new NylasAnswers(mapper, rate, Duration.parse(maxRetryAfter), metrics));
        registry.bind("nylasRate", rate);
        // One time line of turns for the deployment: in the ledger where several instances can share it.
        CallTimeline timeline = h2 ? CallTimeline.inMemory() : new SharedCallTimeline(dataSource);
        NylasRateBudget rateBudget = new NylasRateBudget(timeline, rate, rateBudgetFill, Duration.parse(rateBudgetWarmUp));
        InstanceHeartbeat heartbeat = new InstanceHeartbeat(dataSource, clock, instanceId, Duration.parse(instancesLeaveAfter), h2)
                .whileStopping(context::isStopping);
        registry.bind("instanceHeartbeat", heartbeat);
        // Stopped before the pools close: the others get this instance's share back at once.
        stopWith(context, () -> {
            try {
                heartbeat.leave();
            } catch (RuntimeException e) {
                // The ledger is away: the others take over its claims after instances.leave-after.
            }
        });
        registry.bind("nylasHttpClient", new NylasHttpClientConfigurer(nylasApiKey, rateBudget));
        registry.bind("consentCallback", new ConsentCallback(callbackLedger));
        registry.bind("callbackPages", new CallbackPages());
        registry.bind("jsonMapper", mapper);

        LedgerHealthCheck ledgerHealth = new LedgerHealthCheck(healthLedger, Duration.parse(healthCheckInterval));
        HealthCheckRegistry.get(context).register(ledgerHealth);
        stopWith(context, ledgerHealth::close);
        if (checkOnly) {
            return;
        }
        // Consumers carry the ledger's id in their client id; instances of one group with different
        // ledgers (two H2 files on one Kafka cluster) then turn each other not ready, loudly.
        String ledgerId = LedgerIdentity.of(dataSource);
        context.getComponent("kafka", KafkaComponent.class).setKafkaClientFactory(new LedgerTaggedClients(ledgerId));
        // One admin client watches the cluster for the health checks, off the consumers' threads.
        Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                AdminClientConfig.CLIENT_ID_CONFIG, "consent-bridge-watch",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000));
        KafkaHealthCheck kafka = new KafkaHealthCheck(admin, brokers, Duration.parse(healthCheckInterval));
        LedgerSharingCheck sharing = new LedgerSharingCheck(admin, groupId, ledgerId, Duration.parse(sharingCheckInterval));
        HealthCheckRegistry.get(context).register(kafka);
        HealthCheckRegistry.get(context).register(sharing);
        stopWith(context, () -> {
            kafka.close();
            sharing.close();
            admin.close(Duration.ofSeconds(2));
        });
        // The topics are checked (and created) while the routes load and are created, not before:
        // most of it is waiting for the cluster's answers (about 0.4 s of a start). The routes start
        // only once it is done.
        Thread topicSetup = new Thread(() -> TopicSetup.ensure(brokers,
                List.of(onboardingTopic, mailboxTopic, commandTopic, consentUrlTopic, resultTopic, dlqTopic)), "topic-setup");
        topicSetup.setDaemon(true);
        topicSetup.start();

        TenantStatusEndpoint status = new TenantStatusEndpoint(ledger, mapper, adminToken);
        OperatorPage operatorPage = new OperatorPage(ledger, new TenantOverview(dataSource), mapper, adminToken, commandTopic);
        context.addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarting(CamelContext ctx, boolean alreadyStarted) throws InterruptedException {
                topicSetup.join();
            }

            @Override
            public void onCamelContextStarted(CamelContext ctx, boolean alreadyStarted) {
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext ctx, boolean alreadyStarted) {
                status.mount(ctx);
                operatorPage.mount(ctx);
                MeterRegistry meters = ctx.getRegistry().findSingleByType(MeterRegistry.class);
                if (meters != null) {
                    metrics.bind(meters, rate, rateBudget);
                    metrics.bindInProgress(meters, "onboarding", onboardingLanes);
                    metrics.bindInProgress(meters, "commands", commandLanes);
                }
            }
        });
    }

    /**
     * Binds {@code <kind>Offsets} and {@code <kind>Lanes} for an input whose records are worked on in
     * tenant lanes: its intake route hands them to {@code direct:<kind>-work}.
     */
    private static TenantLanes bindLanes(CamelContext context, String kind, OffsetsInOrder offsets, int concurrency) throws Exception {
        context.getRegistry().bind(kind + "Offsets", offsets);
        TenantLanes lanes = new TenantLanes(context, "direct:" + kind + "-work", concurrency, Duration.ofSeconds(1));
        context.addService(lanes, true, false);
        context.getRegistry().bind(kind + "Lanes", lanes);
        return lanes;
    }

    /** Runs {@code stop} when the context stops (also on SIGTERM), after the routes have stopped. */
    private static void stopWith(CamelContext context, Runnable stop) throws Exception {
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                stop.run();
            }
        }, true, false);
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
