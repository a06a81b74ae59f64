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
}
