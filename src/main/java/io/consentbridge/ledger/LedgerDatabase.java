package io.consentbridge.ledger;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;

import java.nio.file.Files;
import java.nio.file.Path;

/** The ledger's connection pool, with the schema brought up to date by Flyway migrations. */
public final class LedgerDatabase {
    /**
     * H2 made to behave like PostgreSQL, so one set of SQL serves both; and kept open until the
     * application closes the pool (H2 would otherwise close itself in a JVM shutdown hook while
     * in-flight work still needs it).
     */
    static final String H2_POSTGRES_MODE = ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_ON_EXIT=FALSE";

    private LedgerDatabase() {
    }

    public static HikariDataSource open(String url, String user, String password, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl(url));
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(poolSize);
        config.setPoolName("ledger");
        // Fail fast while the database is away: the record is retried, the consumer does not hang.
        config.setConnectionTimeout(5000);
        config.setInitializationFailTimeout(30000);
        HikariDataSource dataSource = new HikariDataSource(config);
        Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").load().migrate();
        return dataSource;
    }

    static String jdbcUrl(String url) {
        if (url.startsWith("jdbc:h2:") && !url.toUpperCase().contains(";MODE=")) {
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
            return url + H2_POSTGRES_MODE;
        }
        return url;
    }
}
