package io.consentbridge.kafka;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Readiness: every instance in this consumer group keeps the same ledger. Instances that share a
 * Kafka cluster but each keep their own H2 file would otherwise disagree in silence (a consent link
 * issued by one is "unknown" to the other, whose callback refuses it). The group's members are
 * read from the broker in the background every {@code interval}; the probe only reads the result.
 */
public class LedgerSharingCheck extends AbstractHealthCheck implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LedgerSharingCheck.class);
    private final String groupId;
    private final String ledgerId;
    private final Admin admin;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "ledger-sharing-check");
        thread.setDaemon(true);
        return thread;
    });
    private volatile Set<String> foreignLedgers = Set.of();

    public LedgerSharingCheck(Admin admin, String groupId, String ledgerId, Duration interval) {
        super("consent-bridge", "ledger-sharing");
        this.groupId = groupId;
        this.ledgerId = ledgerId;
        this.admin = admin;
        scheduler.scheduleWithFixedDelay(this::look, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Set<String> foreign = foreignLedgers;
        if (foreign.isEmpty()) {
            builder.up();
        } else {
            builder.message("instances of consumer group " + groupId + " keep different ledgers " + foreign
                    + "; every instance must use the same DB_URL (PostgreSQL)").down();
        }
    }

    /** One look at the group; a broker that cannot be asked leaves the last answer (Kafka's own checks report it). */
    void look() {
        try {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(groupId)).all().get(10, TimeUnit.SECONDS).get(groupId);
            Set<String> foreign = new TreeSet<>();
            for (MemberDescription member : group.members()) {
                LedgerTaggedClients.ledgerOf(member.clientId()).filter(id -> !id.equals(ledgerId)).ifPresent(foreign::add);
            }
            if (!foreign.equals(foreignLedgers)) {
                if (foreign.isEmpty()) {
                    LOG.info("Every instance of consumer group {} now keeps this ledger ({})", groupId, ledgerId);
                } else {
                    LOG.error("Instances of consumer group {} keep different ledgers: this one {}, others {}. They share Kafka but not"
                                    + " their state, so each refuses the other's consent links. H2 serves one instance only: point every"
                                    + " instance at one PostgreSQL ledger (DB_URL=jdbc:postgresql://...). Not ready until then.",
                            groupId, ledgerId, foreign);
                }
            }
            foreignLedgers = Set.copyOf(foreign);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.debug("consumer group {} could not be described: {}", groupId, e.toString());
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
