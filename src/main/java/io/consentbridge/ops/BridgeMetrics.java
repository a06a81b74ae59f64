package io.consentbridge.ops;

import io.consentbridge.kafka.TenantLanes;

import io.consentbridge.ledger.ConsentLedger;
import io.consentbridge.nylas.NylasCallObserver;
import io.consentbridge.nylas.NylasRateBudget;
import io.consentbridge.nylas.NylasRateGovernor;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bundle's own metrics, beside Camel's, at {@code /observe/metrics} (Micrometer, Prometheus
 * format): events published by type, Nylas calls by endpoint and status, 429s by who limited,
 * the current rate limit, and what the ledger holds (outbox backlog, grants waiting, the oldest
 * pending consent, tenants that need attention), refreshed by the route {@code metrics-refresh}.
 * Until Camel's registry is there (before start), nothing is counted.
 */
public class BridgeMetrics implements NylasCallObserver {
    private volatile MeterRegistry registry;
    private final AtomicLong outboxBacklog = new AtomicLong();
    private final AtomicLong grantsWaiting = new AtomicLong();
    private final AtomicLong oldestPendingConsentSeconds = new AtomicLong();
    private final AtomicLong consentRevoked = new AtomicLong();
    private final AtomicLong secretInvalid = new AtomicLong();
    private final AtomicLong attentionUnknown = new AtomicLong();
    /** Counters by their tags, built once each: a call or an event costs a map lookup, not a registry lookup. */
    private final Map<String, Counter> calls = new ConcurrentHashMap<>();
    private final Map<String, Counter> limited = new ConcurrentHashMap<>();
    private final Map<String, Counter> events = new ConcurrentHashMap<>();

    /** Called once the context has started and its meter registry exists. */
    public void bind(MeterRegistry meters, NylasRateGovernor rate, NylasRateBudget budget) {
        Gauge.builder("consentbridge.nylas.rate_limit", rate, NylasRateGovernor::currentLimit)
                .description("the cap as this instance paces its turns now (halved by each 429 of Nylas's own)").register(meters);
        FunctionCounter.builder("consentbridge.nylas.turns_missed", budget, NylasRateBudget::missedTurns)
                .description("turns on the deployment's time line given up because their call woke too late (an overloaded machine)")
                .register(meters);
        Gauge.builder("consentbridge.outbox.backlog", outboxBacklog, AtomicLong::get)
                .description("events written but not yet on Kafka").register(meters);
        Gauge.builder("consentbridge.grants.waiting", grantsWaiting, AtomicLong::get)
                .description("mailboxes queued for a grant, restore or deletion that has not happened yet").register(meters);
        Gauge.builder("consentbridge.consent.oldest_pending_seconds", oldestPendingConsentSeconds, AtomicLong::get)
                .description("age of the oldest consent link still waiting for its admin").register(meters);
        Gauge.builder("consentbridge.tenants.attention_needed", consentRevoked, AtomicLong::get).tag("cause", "consent_revoked")
                .description("tenants waiting for an operator's action").register(meters);
        Gauge.builder("consentbridge.tenants.attention_needed", secretInvalid, AtomicLong::get).tag("cause", "secret_invalid").register(meters);
        Gauge.builder("consentbridge.tenants.attention_needed", attentionUnknown, AtomicLong::get).tag("cause", "unknown").register(meters);
        // At 0 from the start, so that a dashboard or an alert on them has a series before the first 429.
        rateLimited(meters, "nylas");
        rateLimited(meters, "provider");
        this.registry = meters;
    }

    /** Records of an input topic read and not yet done (waiting in their tenant's lane or being worked on). */
    public void bindInProgress(MeterRegistry meters, String topic, TenantLanes lanes) {
        Gauge.builder("consentbridge.inbound.in_progress", lanes, TenantLanes::inProgress).tag("topic", topic)
                .description("records read and not yet done: a tenant's waiting in its lane or being worked on").register(meters);
    }

    @Override
    public void answered(String endpoint, int status, String limitedBy) {
        MeterRegistry meters = registry;
        if (meters == null) {
            return;
        }
        calls.computeIfAbsent(endpoint + ' ' + status, key -> Counter.builder("consentbridge.nylas.calls").description("answers from Nylas")
                .tag("endpoint", endpoint).tag("status", String.valueOf(status)).register(meters)).increment();
        if (limitedBy != null) {
            rateLimited(meters, limitedBy).increment();
        }
    }

    private Counter rateLimited(MeterRegistry meters, String limitedBy) {
        return limited.computeIfAbsent(limitedBy, by -> Counter.builder("consentbridge.nylas.rate_limited")
                .description("429 answers, by who limited: nylas (the application) or provider (one tenant)")
                .tag("by", by).register(meters));
    }

    /** An event sent on its own (consent link, rejection): its type read from the CloudEvent. */
    public void published(String event) {
        count(io.consentbridge.events.EventEnvelope.typeOf(event));
    }

    /** A relay round's records, once Kafka has them, by event type. */
    public void publishedAll(List<String> types) {
        if (types != null) {
            types.forEach(this::count);
        }
    }

    /** The ledger's side, read every few seconds. */
    public void refresh(ConsentLedger.Gauges gauges, long backlog) {
        outboxBacklog.set(backlog);
        grantsWaiting.set(gauges.grantsWaiting());
        oldestPendingConsentSeconds.set(gauges.oldestPendingConsentSeconds());
        consentRevoked.set(gauges.attention().getOrDefault("consent_revoked", 0L));
        secretInvalid.set(gauges.attention().getOrDefault("secret_invalid", 0L));
        attentionUnknown.set(gauges.attention().getOrDefault("unknown", 0L));
    }

    private void count(String type) {
        MeterRegistry meters = registry;
        if (meters != null && type != null) {
            events.computeIfAbsent(type, t -> Counter.builder("consentbridge.events.published").description("records on Kafka, by event type")
                    .tag("type", t).register(meters)).increment();
        }
    }
}
