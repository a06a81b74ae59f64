package io.consentbridge.support;

import io.consentbridge.Settings;
import org.apache.camel.test.AvailablePortFinder;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged jar, started as an operator starts it: {@code java [jvm options] -jar consent-bridge.jar [args]}
 * in a working folder of its own, its output in a log file there. Of the environment variables the
 * bundle reads, it sees only the ones given here, and HTTP_PORT and MANAGEMENT_PORT are free ports
 * unless given too. One launcher may start the jar more than once (a restart on the same folder).
 */
public final class JarLauncher {
    public static final Path JAR = Path.of("target", "consent-bridge.jar").toAbsolutePath();
    /** The class-data-sharing archive the build makes beside the jar (README: how to run). */
    public static final Path ARCHIVE = Path.of("target", "consent-bridge.jsa").toAbsolutePath();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public final Path workDir;
    public final int httpPort;
    public final int managementPort;
    private Path jar = JAR;
    private final List<String> jvmOptions = new ArrayList<>();
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();

    public JarLauncher(Path workDir) {
        this.workDir = workDir;
        this.httpPort = AvailablePortFinder.getNextAvailable();
        this.managementPort = AvailablePortFinder.getNextAvailable();
        env.put("HTTP_PORT", String.valueOf(httpPort));
        env.put("MANAGEMENT_PORT", String.valueOf(managementPort));
    }

    /** A launcher working in a new temporary folder. */
    public static JarLauncher inNewFolder(String prefix) {
        try {
            return new JarLauncher(Files.createTempDirectory(prefix));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Another copy of the jar (the default is the one the build made). */
    public JarLauncher jar(Path copy) {
        this.jar = copy;
        return this;
    }

    /** Options before {@code -jar}: {@code -Dkey=value} settings (Camel's placeholders read them first), -Xmx and the like. */
    public JarLauncher jvmOptions(List<String> options) {
        jvmOptions.addAll(options);
        return this;
    }

    public JarLauncher args(String... arguments) {
        args.addAll(List.of(arguments));
        return this;
    }

    public JarLauncher env(String name, String value) {
        env.put(name, value);
        return this;
    }

    public JarLauncher env(Map<String, String> variables) {
        env.putAll(variables);
        return this;
    }

    public URI managementUri(String path) {
        return URI.create("http://localhost:" + managementPort + path);
    }

    public URI httpUri(String path) {
        return URI.create("http://localhost:" + httpPort + path);
    }

    public Running start() throws IOException {
        return start("out.log");
    }

    /** Starts the jar, its output going to {@code logName} in the working folder. */
    public Running start(String logName) throws IOException {
        if (!Files.exists(jar)) {
            throw new AssertionError("no packaged jar at " + jar + " (mvn verify builds it before the ITs)");
        }
        // -Dbench.java=path: another Java runtime (the build's archive fits only the JVM that made it).
        String java = System.getProperty("bench.java", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>(List.of(java));
        // As the README runs it: with the build's archive, unless options say otherwise (-Xshare:auto: without it).
        if (jar.equals(JAR) && Files.exists(ARCHIVE) && System.getProperty("bench.java") == null
                && jvmOptions.stream().noneMatch(o -> o.startsWith("-XX:SharedArchiveFile") || o.startsWith("-Xshare"))) {
            command.add("-XX:SharedArchiveFile=" + ARCHIVE);
        }
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", jar.toString()));
        command.addAll(args);
        Path log = workDir.resolve(logName);
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().keySet().removeAll(Settings.ENVIRONMENT.keySet());
        builder.environment().remove("DEMO_MODE");
        builder.environment().putAll(env);
        return new Running(builder.start(), log, System.nanoTime());
    }

    /** Starts the jar and waits for it to end by itself; it is killed if it has not ended within the timeout. */
    public Ended run(Duration timeout) throws IOException, InterruptedException {
        Running running = start();
        boolean ended = running.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!ended) {
            running.process.destroyForcibly().waitFor();
        }
        return new Ended(ended, running.process.exitValue(), running.log(), running.millis());
    }

    /** A run that ended: whether by itself within the timeout, its exit status, its output, how long it took. */
    public record Ended(boolean byItself, int status, String output, long millis) {
    }

    /** One started process of the jar. */
    public final class Running implements AutoCloseable {
        public final Process process;
        public final Path log;
        private final long started;

        Running(Process process, Path log, long started) {
            this.process = process;
            this.log = log;
            this.started = started;
        }

        public long pid() {
            return process.pid();
        }

        /** Milliseconds since the start. */
        public long millis() {
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        }

        /** The first status the health endpoint answers with, or -1 if the process ended or the timeout passed first. */
        public int awaitHealthAnswer(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (process.isAlive() && System.nanoTime() < deadline) {
                try {
                    return HTTP.send(HttpRequest.newBuilder(managementUri("/observe/health")).timeout(Duration.ofSeconds(2)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode();
                } catch (IOException notListeningYet) {
                    Thread.sleep(200);
                }
            }
            return -1;
        }

        /** Waits until health answers 200 and returns the milliseconds since the start; fails with the log's tail. */
        public long awaitHealthy(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            int status = -1;
            while (status != 200 && process.isAlive() && System.nanoTime() < deadline) {
                status = awaitHealthAnswer(Duration.ofNanos(deadline - System.nanoTime()));
                if (status != 200 && status != -1) {
                    Thread.sleep(200);
                }
            }
            if (status != 200) {
                throw new AssertionError("no health 200 (last " + status + "); alive " + process.isAlive()
                        + "\n--- " + log.getFileName() + " ---\n" + tail(80));
            }
            return millis();
        }

        /** The first log line that contains the text; fails with the log's tail if none came within the timeout. */
        public String awaitLogLine(String text, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                String line = log().lines().filter(l -> l.contains(text)).findFirst().orElse(null);
                if (line != null) {
                    return line;
                }
                Thread.sleep(200);
            }
            throw new AssertionError("no log line with \"" + text + "\" within " + timeout + "\n--- " + log.getFileName() + " ---\n" + tail(80));
        }

        public String log() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(no log: " + e.getMessage() + ")";
            }
        }

        public String tail(int lines) {
            List<String> all = log().lines().toList();
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }

        /** SIGTERM, then waits for the process to end; true if it did within the timeout. */
        public boolean stop(Duration timeout) throws InterruptedException {
            process.destroy();
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** SIGKILL, and waits until the process is gone. */
        public void kill() throws InterruptedException {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }

        /** Kills the process if it is still running. */
        @Override
        public void close() throws InterruptedException {
            if (process.isAlive()) {
                kill();
            }
        }
    }
}
