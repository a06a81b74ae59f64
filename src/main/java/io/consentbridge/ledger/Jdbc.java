package io.consentbridge.ledger;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Collections;
import java.util.List;

/** Transactions and parameter binding on plain JDBC, shared by the ledger and the outbox. */
class Jdbc {
    interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Work that a {@link GroupCommit} runs together with the other pieces of its kind (its class) in
     * the group, in one go: a statement or a batch for all of them instead of one round trip each. On its
     * own (outside a group, or when a group fails and each piece runs alone) it runs as a group of one.
     */
    interface Joint<T> extends Work<T> {
        /** Runs {@code pieces} (all of this class, this one among them) in their order; their answers in that order. */
        List<T> runJointly(Connection connection, List<Joint<T>> pieces) throws SQLException;

        @Override
        default T run(Connection connection) throws SQLException {
            return runJointly(connection, List.of(this)).get(0);
        }
    }

    protected final DataSource dataSource;

    Jdbc(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    <T> T inTransaction(Work<T> work) {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
                T result = work.run(connection);
                connection.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw translate(e);
        }
    }

    /** What a database failure means to the caller. */
    static RuntimeException translate(SQLException e) {
        // Class 22 (data exception: too long, bad character): retrying cannot help.
        if (e.getSQLState() != null && e.getSQLState().startsWith("22")) {
            return new LedgerDataException("a value was refused by the ledger database (SQLState " + e.getSQLState() + ")");
        }
        return new LedgerUnavailableException(e);
    }

    /** {@code count} parameter marks for an {@code in (...)} list: "?, ?, ?". */
    static String marks(int count) {
        return String.join(", ", Collections.nCopies(count, "?"));
    }

    static PreparedStatement prepare(Connection c, String sql, Object... params) throws SQLException {
        PreparedStatement statement = c.prepareStatement(sql);
        bind(statement, params);
        return statement;
    }

    static void bind(PreparedStatement statement, Object... params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            Object p = params[i];
            statement.setObject(i + 1, p instanceof Instant instant ? OffsetDateTime.ofInstant(instant, ZoneOffset.UTC) : p);
        }
    }

    static int update(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement statement = prepare(c, sql, params)) {
            return statement.executeUpdate();
        }
    }

    static Instant instant(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof OffsetDateTime odt) {
            return odt.toInstant();
        }
        if (value instanceof Timestamp ts) {
            return ts.toInstant();
        }
        if (value instanceof java.time.ZonedDateTime zdt) {
            return zdt.toInstant();
        }
        throw new IllegalArgumentException("not a timestamp: " + value.getClass());
    }
}
