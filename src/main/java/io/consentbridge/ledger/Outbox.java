package io.consentbridge.ledger;

import io.consentbridge.events.OutboundRecord;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The transactional outbox: events are written in the same transaction as the ledger change they
 * report, and the route {@code outbox-relay} publishes and then deletes them. Several instances share
 * one database: one of them relays at a time (see {@link #claim}).
 */
public class Outbox {
    private final Jdbc jdbc;
    private final Clock clock;
    private final String instanceId;
    public Outbox(DataSource dataSource, Clock clock, String instanceId) {
        this.jdbc = new Jdbc(dataSource);
        this.clock = clock;
        this.instanceId = instanceId;
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
     * Up to {@code max} unsent events, oldest first, for this instance to send, if it is the relay:
     * one instance at a time relays (the holder of the {@code outbox-relay} lease, for as long as
     * it is alive by its heartbeat, {@link InstanceHeartbeat}), so events leave in the order they
     * were written and no row is written to before it is sent. A relay that dies leaves the lease
     * to the first other instance with something to send, within seconds.
     * (Leasing each row instead rewrote every row, ~1 KB of event each, once more before its
     * deletion: a third of the outbox's page writes on H2, GrantCostBenchmark.)
     */
    public List<OutboxRecord> claim(int max) {
        return jdbc.inTransaction(c -> {
            List<OutboxRecord> unsent = new ArrayList<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select id, topic, record_key, partition_key, payload from outbox order by id limit ?", max);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    unsent.add(new OutboxRecord(rs.getLong(1), rs.getString(2), rs.getString(3),
                            (Integer) rs.getObject(4, Integer.class), rs.getString(5)));
                }
            }
            if (unsent.isEmpty() || !relay(c)) {
                return List.of();
            }
            return unsent;
        });
    }

    /** Takes or keeps the relay's lease: true when this instance is the relay now. */
    private boolean relay(Connection c) throws SQLException {
        // Kept without a write while this instance holds it and is alive: only taking it writes (a
        // write every round made each relay round a commit that rewrote the lease's pages on H2).
        try (PreparedStatement s = Jdbc.prepare(c, "select 1 from sweep_lease where name = 'outbox-relay' and holder = ?"
                + " and exists (select 1 from rate_member where instance_id = ?)", instanceId, instanceId);
             ResultSet rs = s.executeQuery()) {
            if (rs.next()) {
                return true;
            }
        }
        Instant now = Instant.now(clock);
        // Taken from a holder that is no longer alive; until: when it was taken (the lease lasts as
        // long as its holder is alive).
        String take = "update sweep_lease set holder = ?, until = ? where name = 'outbox-relay'"
                + " and holder not in (select instance_id from rate_member)"
                + " and exists (select 1 from rate_member where instance_id = ?)";
        if (Jdbc.update(c, take, instanceId, now, instanceId) == 1) {
            return true;
        }
        Jdbc.update(c, "insert into sweep_lease (name, holder, until) values ('outbox-relay', ?, ?) on conflict do nothing",
                "nobody", now);
        return Jdbc.update(c, take, instanceId, now, instanceId) == 1;
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
