package io.consentbridge.ledger;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** A restart skips Flyway only when every migration is recorded as applied. */
class LedgerDatabaseTest {
    @Test
    void theNewestMigrationIsTheFoldersNewest() throws Exception {
        try (Stream<Path> files = Files.list(Path.of("src/main/resources/db/migration"))) {
            int newest = files.map(p -> p.getFileName().toString()).filter(n -> n.matches("V\\d+__.*\\.sql"))
                    .mapToInt(n -> Integer.parseInt(n.substring(1, n.indexOf("__")))).max().orElseThrow();
            assertThat(LedgerDatabase.NEWEST_MIGRATION).as("LedgerDatabase.NEWEST_MIGRATION").isEqualTo(newest);
        }
    }

    @Test
    void aNewLedgerIsMigratedAndARestartFindsItUpToDate() throws Exception {
        String url = "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
        try (HikariDataSource first = LedgerDatabase.open(url, null, null, 2)) {
            assertThat(LedgerDatabase.upToDate(first)).isTrue();
            try (HikariDataSource again = LedgerDatabase.open(url, null, null, 2)) {
                assertThat(LedgerDatabase.upToDate(again)).isTrue();
            }
            // A ledger that lacks the newest migration (an older bundle's) is not up to date: Flyway runs.
            try (Connection c = first.getConnection(); Statement st = c.createStatement()) {
                st.executeUpdate("update flyway_schema_history set success = false where version = '" + LedgerDatabase.NEWEST_MIGRATION + "'");
                assertThat(LedgerDatabase.upToDate(first)).isFalse();
                st.executeUpdate("delete from flyway_schema_history where version = '" + LedgerDatabase.NEWEST_MIGRATION + "'");
                assertThat(LedgerDatabase.upToDate(first)).isFalse();
            }
        }
        String empty = "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
        try (HikariDataSource none = new HikariDataSource()) {
            none.setJdbcUrl(empty);
            assertThat(LedgerDatabase.upToDate(none)).as("no history table yet").isFalse();
        }
    }

    /** An H2 ledger reserves its ids in large blocks (each reservation makes H2 parse every statement again); order holds over a restart. */
    @Test
    void anH2LedgerReservesIdsInLargeBlocksAndKeepsThemInOrderOverARestart(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger").toAbsolutePath();
        long before;
        try (HikariDataSource first = LedgerDatabase.open(url, null, null, 2)) {
            assertThat(identityCaches(first)).containsOnly((long) LedgerDatabase.H2_IDENTITY_CACHE).hasSize(2);
            before = insertOutboxRow(first);
            assertThat(insertOutboxRow(first)).isEqualTo(before + 1);
        }
        try (HikariDataSource again = LedgerDatabase.open(url, null, null, 2)) {
            assertThat(identityCaches(again)).containsOnly((long) LedgerDatabase.H2_IDENTITY_CACHE);
            assertThat(insertOutboxRow(again)).as("after the restart: later, at most a block on").isBetween(before + 2, before + 2 + LedgerDatabase.H2_IDENTITY_CACHE);
        }
    }

    private static java.util.List<Long> identityCaches(HikariDataSource db) throws Exception {
        java.util.List<Long> caches = new java.util.ArrayList<>();
        try (Connection c = db.getConnection(); Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("select identity_cache from information_schema.columns where table_name in ('outbox', 'grant_work') and column_name = 'id'")) {
            while (rs.next()) {
                caches.add(rs.getLong(1));
            }
        }
        return caches;
    }

    private static long insertOutboxRow(HikariDataSource db) throws Exception {
        try (Connection c = db.getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate("insert into outbox (topic, payload, created_at) values ('t', '{}', current_timestamp)", Statement.RETURN_GENERATED_KEYS);
            try (java.sql.ResultSet keys = st.getGeneratedKeys()) {
                keys.next();
                return keys.getLong(1);
            }
        }
    }
}
