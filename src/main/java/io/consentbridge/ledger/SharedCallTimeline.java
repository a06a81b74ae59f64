package io.consentbridge.ledger;

import io.consentbridge.nylas.CallTimeline;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The deployment's call time line in the ledger (PostgreSQL), shared by every instance on it: one
 * row, moved forward by one statement per reservation, its times read from the database's clock.
 * An instance that dies loses only the turns it had reserved and not used (a fraction of a
 * second); there is no share to take back.
 */
public class SharedCallTimeline implements CallTimeline {
    private static final String NOW_US = "cast(extract(epoch from clock_timestamp()) * 1000000 as bigint)";
    private static final String RESERVE = "update call_timeline set next_us = greatest(next_us, " + NOW_US + ") + ?"
            + " where name = 'nylas' returning next_us - ?, " + NOW_US;

    private final DataSource dataSource;

    public SharedCallTimeline(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Turns reserved: the first one's time and the database's time then, both in microseconds since the epoch. */
    record Reservation(long firstUs, long nowUs) {
    }

    @Override
    public long reserve(int turns, long spacingNanos) {
        Reservation r = take(turns, spacingNanos);
        return Math.max(0, r.firstUs() - r.nowUs()) * 1000;
    }

    Reservation take(int turns, long spacingNanos) {
        long spanUs = turns * Math.max(1, spacingNanos / 1000);
        try (Connection c = dataSource.getConnection();
             PreparedStatement s = c.prepareStatement(RESERVE)) {
            c.setAutoCommit(true);
            s.setLong(1, spanUs);
            s.setLong(2, spanUs);
            try (ResultSet rs = s.executeQuery()) {
                if (!rs.next()) {
                    throw new LedgerDataException("the ledger has no call time line (migration V8 not applied?)");
                }
                return new Reservation(rs.getLong(1), rs.getLong(2));
            }
        } catch (SQLException e) {
            throw Jdbc.translate(e);
        }
    }
}
