package io.consentbridge.ledger;

import javax.sql.DataSource;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The instances that share one ledger, so that together they stay under one rate cap
 * (contract §1: {@code NYLAS_MAX_RPS} is the cap for the whole deployment). Each instance says it
 * is alive every heartbeat; one not heard from for {@code leaveAfter} is taken off, so a dead
 * instance's share returns to the others within seconds.
 */
public class RateShares {
    /** The instances alive now, and whether this one joined long enough ago to take its share. */
    public record Members(int alive, boolean settled) {
    }

    private final Jdbc jdbc;
    private final Clock clock;
    private final String instanceId;
    private final Duration leaveAfter;
    private final Duration settle;

    /**
     * @param leaveAfter how long an instance may be silent before it counts as gone
     * @param settle     how long a newcomer waits before taking its share, so the others have lowered
     *                   theirs and their last second of calls has passed
     */
    public RateShares(DataSource dataSource, Clock clock, String instanceId, Duration leaveAfter, Duration settle) {
        this.jdbc = new Jdbc(dataSource);
        this.clock = clock;
        this.instanceId = instanceId;
        this.leaveAfter = leaveAfter;
        this.settle = settle;
    }

    /** Says this instance is alive, takes off those that are not, and counts who is left. */
    public Members heartbeat() {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            if (Jdbc.update(c, "update rate_member set seen_at = ? where instance_id = ?", now, instanceId) == 0) {
                Jdbc.update(c, "insert into rate_member (instance_id, joined_at, seen_at) values (?, ?, ?) on conflict do nothing",
                        instanceId, now, now);
            }
            Jdbc.update(c, "delete from rate_member where seen_at < ?", now.minus(leaveAfter));
            int alive = 0;
            Instant joined = now;
            Instant firstOfOthers = null;
            try (PreparedStatement s = c.prepareStatement("select instance_id, joined_at from rate_member");
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    alive++;
                    Instant at = Jdbc.instant(rs.getObject(2));
                    if (rs.getString(1).equals(instanceId)) {
                        joined = at;
                    } else if (firstOfOthers == null || at.isBefore(firstOfOthers)) {
                        firstOfOthers = at;
                    }
                }
            }
            // Alone, or among others that came later: nothing to wait for.
            boolean settled = firstOfOthers == null || !joined.isAfter(firstOfOthers) || !now.isBefore(joined.plus(settle));
            return new Members(Math.max(1, alive), settled);
        });
    }

    /** Leaves at once (a graceful stop), so the others need not wait for the silence. */
    public void leave() {
        jdbc.inTransaction(c -> Jdbc.update(c, "delete from rate_member where instance_id = ?", instanceId));
    }
}
