package io.consentbridge.shared;

import org.apache.camel.test.AvailablePortFinder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL server for the test JVM, run from the Debian package's binaries
 * ({@code /usr/lib/postgresql/<version>/bin}). PostgreSQL refuses to run as root, so when the tests
 * run as root, initdb and pg_ctl run as the {@code postgres} OS user on a data folder it owns.
 * Authentication is {@code trust}: connect as {@link #USER} without a password.
 */
public final class LocalPostgres {
    public static final String USER = "postgres";
    private static final Path PACKAGE_ROOT = Path.of("/usr/lib/postgresql");
    private static LocalPostgres shared;

    private final Path bin;
    private final Path root;
    private final Path dataDir;
    private final Path logFile;
    private final int port;
    private volatile boolean running;

    private LocalPostgres(Path bin, Path root, int port) {
        this.bin = bin;
        this.root = root;
        this.dataDir = root.resolve("data");
        this.logFile = root.resolve("server.log");
        this.port = port;
    }

    /** One server for the whole JVM, started on first use. Do not stop it: other tests use it. */
    public static synchronized LocalPostgres shared() {
        if (shared == null) {
            shared = startNew();
        }
        return shared;
    }

    /** A server of its own, for a test that stops and starts it; stopped at JVM exit. */
    public static LocalPostgres startNew() {
        Path bin = findBinaries();
        try {
            Path root = Files.createTempDirectory("consent-bridge-pg");
            LocalPostgres pg = new LocalPostgres(bin, root, AvailablePortFinder.getNextAvailable());
            long t0 = System.nanoTime();
            pg.initdb();
            long t1 = System.nanoTime();
            pg.start();
            long t2 = System.nanoTime();
            System.out.printf("LocalPostgres: %s, port %d: initdb %d ms, start %d ms%n",
                    bin.getParent().getFileName(), pg.port, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
            Runtime.getRuntime().addShutdownHook(new Thread(pg::destroy, "local-postgres-stop"));
            return pg;
        } catch (IOException e) {
            throw new IllegalStateException("could not prepare a PostgreSQL data folder: " + e.getMessage(), e);
        }
    }

    /** The newest {@code /usr/lib/postgresql/<version>/bin} that holds initdb, pg_ctl and postgres. */
    static Path findBinaries() {
        List<Path> candidates = new ArrayList<>();
        if (Files.isDirectory(PACKAGE_ROOT)) {
            try (Stream<Path> versions = Files.list(PACKAGE_ROOT)) {
                versions.map(v -> v.resolve("bin"))
                        .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl"))
                                && Files.isExecutable(b.resolve("postgres")))
                        .forEach(candidates::add);
            } catch (IOException e) {
                throw new IllegalStateException("cannot list " + PACKAGE_ROOT + ": " + e.getMessage(), e);
            }
        }
        return candidates.stream().max(Comparator.comparingDouble(LocalPostgres::version)).orElseThrow(() ->
                new IllegalStateException("PostgreSQL server binaries not found under " + PACKAGE_ROOT
                        + "/<version>/bin (initdb, pg_ctl, postgres). These tests need a local PostgreSQL: "
                        + "run `apt-get install -y postgresql` (CI's .ci/run installs it)."));
    }

    private static double version(Path bin) {
        try {
            return Double.parseDouble(bin.getParent().getFileName().toString());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private void initdb() throws IOException {
        if (runAsPostgresUser()) {
            UserPrincipalLookupService users = root.getFileSystem().getUserPrincipalLookupService();
            Files.setOwner(root, users.lookupPrincipalByName(USER));
        }
        run(60, bin.resolve("initdb").toString(), "-D", dataDir.toString(), "-A", "trust", "-U", USER, "-E", "UTF8",
                "--no-sync");
    }

    /** Starts the server on its data folder and port (again, after {@link #stop()}). */
    public synchronized void start() {
        run(60, bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-l", logFile.toString(),
                "-o", "-c listen_addresses=127.0.0.1 -c port=" + port + " -c unix_socket_directories=" + root
                        + " -c fsync=off -c max_connections=200",
                "-w", "-t", "60", "start");
        running = true;
    }

    /** Stops the server at once: open connections are cut, as in an outage. */
    public synchronized void stop() {
        run(60, bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "fast", "-w", "stop");
        running = false;
    }

    public int port() {
        return port;
    }

    /** The URL of a database on this server; connect as {@link #USER}, no password. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** Creates a fresh database (a name made of lower-case letters, digits and _) and returns its URL. */
    public String createDatabase(String name) {
        String db = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), USER, "");
             Statement s = c.createStatement()) {
            s.execute("drop database if exists " + db);
            s.execute("create database " + db);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + db + " on port " + port + ": " + e.getMessage(), e);
        }
        return jdbcUrl(db);
    }

    /** The end of the server's log, for failure messages. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no server log: " + e.getMessage() + ")";
        }
    }

    private void destroy() {
        if (running) {
            try {
                stop();
            } catch (RuntimeException e) {
                System.err.println("LocalPostgres: stop at exit failed: " + e.getMessage());
            }
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }

    private static boolean runAsPostgresUser() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Runs a PostgreSQL tool (as the postgres user when we are root); fails with its output. */
    private void run(int timeoutSeconds, String... command) {
        List<String> full = new ArrayList<>();
        if (runAsPostgresUser()) {
            full.addAll(List.of("runuser", "-u", USER, "--"));
        }
        full.addAll(List.of(command));
        try {
            // Output to a file, not a pipe: the server started by pg_ctl must not hold our pipe open.
            Path out = Files.createTempFile("local-postgres-cmd", ".log");
            Process process = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(out.toFile())
                    .directory(root.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", full) + " did not finish in " + timeoutSeconds + " s");
            }
            String output = Files.readString(out);
            Files.deleteIfExists(out);
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", full) + " failed (exit " + process.exitValue() + "):\n"
                        + output + "\nserver log:\n" + logTail());
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not run " + String.join(" ", full) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + String.join(" ", full), e);
        }
    }

}
