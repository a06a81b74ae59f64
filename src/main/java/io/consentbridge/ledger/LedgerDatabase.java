package io.consentbridge.ledger;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;

import javax.sql.DataSource;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The ledger's connection pool, with the schema brought up to date by Flyway migrations. */
public final class LedgerDatabase {
    /**
     * Settings every H2 ledger gets unless its URL sets them: behave like PostgreSQL, so one set of
     * SQL serves both; stay open until the application closes the pool (H2 would otherwise close
     * itself in a JVM shutdown hook while in-flight work still needs it); and write each commit to
     * disk at once (H2 otherwise holds commits up to a second, and a killed process would lose work
     * whose Kafka offset is already committed).
     */
    static final Map<String, String> H2_SETTINGS = new LinkedHashMap<>();

    static {
        H2_SETTINGS.put("MODE", "PostgreSQL");
        H2_SETTINGS.put("DATABASE_TO_LOWER", "TRUE");
        H2_SETTINGS.put("DEFAULT_NULL_ORDERING", "HIGH");
        H2_SETTINGS.put("DB_CLOSE_ON_EXIT", "FALSE");
        H2_SETTINGS.put("WRITE_DELAY", "0");
        // Parsed statements kept per connection (H2's default 8): each connection of the main pool runs
        // the statements of all the routes (claims, relay, grant outcomes, timers), some thirty.
        H2_SETTINGS.put("QUERY_CACHE_SIZE", "64");
    }

    private LedgerDatabase() {
    }

    /**
     * The newest migration in {@code db/migration} ({@code V<n>__*.sql}); LedgerDatabaseTest keeps it equal
     * to the folder's newest.
     */
    static final int NEWEST_MIGRATION = 8;

    /** The main pool, with the schema migrated. */
    public static HikariDataSource open(String url, String user, String password, int poolSize) {
        HikariDataSource dataSource = pool("ledger", url, user, password, poolSize, 5000);
        if (!upToDate(dataSource)) {
            Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").load().migrate();
        }
        if (url.startsWith("jdbc:h2:")) {
            try (Connection c = dataSource.getConnection()) {
                widenIdentityCaches(c);
            } catch (SQLException e) {
                throw new IllegalStateException("the ledger's id caches could not be set: " + e.getMessage(), e);
            }
        }
        return dataSource;
    }

    /** Tables whose ids come from an identity column, written to at the pace of the grants. */
    private static final List<String> IDENTITY_TABLES = List.of("outbox", "grant_work");
    static final int H2_IDENTITY_CACHE = 1024;

    /**
     * H2 only: the outbox's and the grant queue's ids are reserved on disk 1,024 at a time instead of
     * 32. Each reservation is a change of the schema to H2, which then throws away every session's
     * parsed statements: at 40 grants a second that was more than once a second, and every statement
     * parsed again (GrantCostBenchmark). The ids keep their order (one counter for the whole database);
     * a process that stops leaves a gap of at most 1,024. Not on PostgreSQL, whose sequence caches are
     * per session and would hand out ids out of commit order.
     */
    public static void widenIdentityCaches(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (String table : IDENTITY_TABLES) {
                long cache;
                try (ResultSet rs = st.executeQuery("select identity_cache from information_schema.columns"
                        + " where table_name = '" + table + "' and column_name = 'id'")) {
                    cache = rs.next() ? rs.getLong(1) : H2_IDENTITY_CACHE;
                }
                if (cache != H2_IDENTITY_CACHE) {
                    st.execute("alter table " + table + " alter column id set cache " + H2_IDENTITY_CACHE);
                }
            }
        }
    }

    /**
     * Whether Flyway recorded every migration up to the newest as applied, and none failed: a restart then
     * skips Flyway, whose start (finding the migrations inside the jar, validating them) is some 0.15 s of
     * every start. A new ledger, an older one, or one with a failed migration goes through Flyway.
     */
    static boolean upToDate(DataSource dataSource) {
        Set<Integer> applied = new HashSet<>();
        int rows = 0;
        try (Connection c = dataSource.getConnection();
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select version, success from flyway_schema_history where version is not null")) {
            while (rs.next()) {
                if (!rs.getBoolean(2)) {
                    return false;
                }
                applied.add(Integer.parseInt(rs.getString(1)));
                rows++;
            }
        } catch (SQLException | NumberFormatException noHistoryOrNotOurs) {
            return false;
        }
        // Exactly V1..V<newest>, each once.
        return rows == NEWEST_MIGRATION && applied.size() == NEWEST_MIGRATION
                && applied.stream().allMatch(v -> v >= 1 && v <= NEWEST_MIGRATION);
    }

    /**
     * A further pool on the same database, for work that must not wait behind the consumers (or
     * make them wait): the consent callbacks, the health check. Opened after {@link #open}, which has
     * already found the database there: its connections are opened in the background, not during the start.
     */
    public static HikariDataSource openExtra(String name, String url, String user, String password, int poolSize) {
        return pool(name, url, user, password, poolSize, -1);
    }

    private static HikariDataSource pool(String name, String url, String user, String password, int poolSize, long initializationFailTimeoutMs) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl(url));
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(poolSize);
        config.setPoolName(name);
        // Fail fast while the database is away: the record is retried, the consumer does not hang.
        config.setConnectionTimeout(5000);
        // A database that is not there at startup is reported within seconds, naming DB_URL (-1: not checked here).
        config.setInitializationFailTimeout(initializationFailTimeoutMs);
        return new HikariDataSource(config);
    }

    /** The URL as the ledger opens it: an H2 URL with {@link #H2_SETTINGS} appended (each unless it sets it), its folder made. */
    public static String jdbcUrl(String url) {
        if (!url.startsWith("jdbc:h2:")) {
            return url;
        }
        if (url.startsWith("jdbc:h2:file:")) {
            Path file = Path.of(url.substring("jdbc:h2:file:".length()).split(";")[0]);
            try {
                if (file.getParent() != null) {
                    Files.createDirectories(file.getParent());
                }
            } catch (Exception ignored) {
                // H2 reports a clearer error itself
            }
        }
        StringBuilder full = new StringBuilder(url);
        String upper = url.toUpperCase(Locale.ROOT);
        H2_SETTINGS.forEach((key, value) -> {
            if (!upper.contains(";" + key + "=")) {
                full.append(';').append(key).append('=').append(value);
            }
        });
        return full.toString();
    }
}
