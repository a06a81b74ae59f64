package io.consentbridge.ledger;

import org.apache.camel.Exchange;
import org.apache.camel.component.kafka.KafkaConstants;

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
    public static final String ID_HEADER = "OutboxId";

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

    /** Adds an event inside the caller's transaction. */
    static void add(Connection c, Clock clock, String topic, String key, Integer partition, String payload) throws SQLException {
        Jdbc.update(c, "insert into outbox (topic, record_key, partition_key, payload, created_at) values (?, ?, ?, ?, ?)",
                topic, key, partition, payload, Instant.now(clock));
    }

    static PreparedStatement batch(Connection c) throws SQLException {
        return c.prepareStatement("insert into outbox (topic, record_key, partition_key, payload, created_at) values (?, ?, ?, ?, ?)");
    }

    /** Leases up to {@code max} unsent events, oldest first. */
    public List<OutboxRecord> claim(int max) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            List<Long> candidates = new ArrayList<>();
            try (PreparedStatement s = Jdbc.prepare(c,
                    "select id from outbox where claimed_until is null or claimed_until < ? order by id limit ?", now, max);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    candidates.add(rs.getLong(1));
                }
            }
            List<OutboxRecord> claimed = new ArrayList<>();
            for (long id : candidates) {
                int won = Jdbc.update(c, "update outbox set claimed_by = ?, claimed_until = ? where id = ? and (claimed_until is null or claimed_until < ?)",
                        instanceId, now.plus(lease), id, now);
                if (won == 1) {
                    try (PreparedStatement s = Jdbc.prepare(c, "select topic, record_key, partition_key, payload from outbox where id = ?", id);
                         ResultSet rs = s.executeQuery()) {
                        if (rs.next()) {
                            claimed.add(new OutboxRecord(id, rs.getString(1), rs.getString(2),
                                    (Integer) rs.getObject(3, Integer.class), rs.getString(4)));
                        }
                    }
                }
            }
            return claimed;
        });
    }

    /** Turns one claimed record into the Kafka message the relay sends. */
    public String toMessage(OutboxRecord record, Exchange exchange) {
        exchange.getMessage().setHeader(KafkaConstants.OVERRIDE_TOPIC, record.topic());
        exchange.getMessage().setHeader(KafkaConstants.KEY, record.key());
        if (record.partition() != null) {
            exchange.getMessage().setHeader(KafkaConstants.PARTITION_KEY, record.partition());
        }
        exchange.getMessage().setHeader(ID_HEADER, record.id());
        return record.payload();
    }

    public void sent(long id) {
        jdbc.inTransaction(c -> Jdbc.update(c, "delete from outbox where id = ?", id));
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
