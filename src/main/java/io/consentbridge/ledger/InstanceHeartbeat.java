package io.consentbridge.ledger;

import javax.sql.DataSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;

/**
 * The instances that share one ledger ({@code rate_member}): each says it is alive every heartbeat,
 * and one not heard from for {@code leaveAfter} is taken off. What an instance holds while alive
 * (its claims of grant work, {@link GrantQueue}; the outbox relay, {@link Outbox}) goes to the
 * others within seconds of its death.
 */
public class InstanceHeartbeat {
    private final Jdbc jdbc;
    private final Clock clock;
    private final String instanceId;
    private final Duration leaveAfter;
    private final boolean sole;
    private volatile boolean joined;
    private volatile BooleanSupplier stopping = () -> false;
    private volatile boolean lastFailed;

    /** @param leaveAfter how long an instance may be silent before it counts as gone */
    public InstanceHeartbeat(DataSource dataSource, Clock clock, String instanceId, Duration leaveAfter) {
        this(dataSource, clock, instanceId, leaveAfter, false);
    }

    /**
     * @param sole the ledger is this process's alone (an H2 file): once this instance has joined and
     *             taken off those of earlier runs, no other can come or look, so later beats write
     *             nothing (a commit every beat was 6-10 % of an idle bridge's CPU)
     */
    public InstanceHeartbeat(DataSource dataSource, Clock clock, String instanceId, Duration leaveAfter, boolean sole) {
        this.jdbc = new Jdbc(dataSource);
        this.clock = clock;
        this.instanceId = instanceId;
        this.leaveAfter = leaveAfter;
        this.sole = sole;
    }

    /**
     * @param stopping whether the bridge is stopping. A stopping bridge beats until its other routes
     *                 have finished what they hold (the heartbeat route's {@code shutdownRoute: Defer}),
     *                 and every beat counts as work in flight for the stop. With the ledger away each beat
     *                 would wait out the pool's connection timeout, and the stop would wait out its own:
     *                 after a failed beat a stopping bridge beats no more (the others count it gone after
     *                 leave-after, as after a crash).
     */
    public InstanceHeartbeat whileStopping(BooleanSupplier stopping) {
        this.stopping = stopping;
        return this;
    }

    /** Says this instance is alive and takes off those that are not. */
    public void beat() {
        if (sole && joined) {
            return;
        }
        if (lastFailed && stopping.getAsBoolean()) {
            return;
        }
        lastFailed = true;
        jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            if (Jdbc.update(c, "update rate_member set seen_at = ? where instance_id = ?", now, instanceId) == 0) {
                Jdbc.update(c, "insert into rate_member (instance_id, joined_at, seen_at) values (?, ?, ?) on conflict do nothing",
                        instanceId, now, now);
            }
            return Jdbc.update(c, "delete from rate_member where seen_at < ?", now.minus(leaveAfter));
        });
        lastFailed = false;
        joined = true;
    }

    /** Leaves at once (a graceful stop), so the others need not wait for the silence. */
    public void leave() {
        jdbc.inTransaction(c -> Jdbc.update(c, "delete from rate_member where instance_id = ?", instanceId));
        joined = false;
    }
}
