package io.consentbridge.ledger;

import io.consentbridge.events.OutboundRecord;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The transactional outbox: events are written in the same transaction as the ledger change they
 * report, and the route {@code outbox-relay} publishes and then deletes them. Several instances can
 * relay from one database: a row is leased before it is sent, and a lease that runs out (the
 * instance died) makes the row free again.
 */
public class Outbox {
    private final Jdbc jdbc;
    private final Clock clock;
    private final String instanceId;
    private final Duration lease;

    public Outbox(DataSource dataSource, Clock clock, String instanceId, Duration lease) {
        this.jdbc = new Jdbc(dataSource);
        this.clock = clock;
        this.instanceId = instanceId;
        this.lease = lease;
    }

    /** Adds a record inside the caller's transaction. */
    static void add(Connection c, Instant now, OutboundRecord record) throws SQLException {
        Jdbc.update(c, "insert into outbox (topic, record_key, partition_key, payload, created_at) values (?, ?, ?, ?, ?)",
                record.topic(), record.key(), record.partition(), record.payload(), now);
    }

    /** Several records inside the caller's transaction, in one batch: {@link #bind} each, then {@code executeBatch}. */
    static PreparedStatement batch(Connection c) throws SQLException {
        return c.prepareStatement("insert into outbox (topic, record_key, partition_key, payload, created_at) values (?, ?, ?, ?, ?)");
    }

    static void bind(PreparedStatement batch, OutboundRecord record, Instant now) throws SQLException {
        Jdbc.bind(batch, record.topic(), record.key(), record.partition(), record.payload(), now);
        batch.addBatch();
    }

    /**
     * Leases up to {@code max} unsent events, oldest first: reads the free rows in id order, then
     * leases each by its primary key, on condition that it is still free; a row another instance
     * leased in between is left to it. (The earlier single "update ... where id in (select ...
     * order by id limit ?)" made H2 sort and match the whole table for every round: a quarter of
     * the bundle's CPU during a 2,000-mailbox fan-out, by JFR.)
     */
    public List<OutboxRecord> claim(int max) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            Instant until = now.plus(lease);
            List<OutboxRecord> free = new ArrayList<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select id, topic, record_key, partition_key, payload from outbox"
                    + " where claimed_until is null or claimed_until < ? order by id limit ?", now, max);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    free.add(new OutboxRecord(rs.getLong(1), rs.getString(2), rs.getString(3),
                            (Integer) rs.getObject(4, Integer.class), rs.getString(5)));
                }
            }
            if (free.isEmpty()) {
                return free;
            }
            int[] leased;
            try (PreparedStatement lease = c.prepareStatement("update outbox set claimed_by = ?, claimed_until = ?"
                    + " where id = ? and (claimed_until is null or claimed_until < ?)")) {
                for (OutboxRecord record : free) {
                    Jdbc.bind(lease, instanceId, until, record.id(), now);
                    lease.addBatch();
                }
                leased = lease.executeBatch();
            }
            List<OutboxRecord> claimed = new ArrayList<>(free.size());
            for (int i = 0; i < free.size(); i++) {
                if (leased[i] > 0 || leased[i] == java.sql.Statement.SUCCESS_NO_INFO) {
                    claimed.add(free.get(i));
                }
            }
            return claimed;
        });
    }

    /**
     * Deletes the round's records once Kafka has acknowledged all of them, in one transaction. If
     * the send failed, nothing is deleted: the lease runs out and the round is sent again (at least
     * once, in order).
     */
    public void deleteSent(long[] ids) {
        if (ids == null || ids.length == 0) {
            return;
        }
        jdbc.inTransaction(c -> {
            try (PreparedStatement delete = c.prepareStatement("delete from outbox where id = ?")) {
                for (long id : ids) {
                    delete.setLong(1, id);
                    delete.addBatch();
                }
                delete.executeBatch();
            }
            return null;
        });
    }

    public long backlog() {
        return jdbc.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("select count(*) from outbox"); ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
