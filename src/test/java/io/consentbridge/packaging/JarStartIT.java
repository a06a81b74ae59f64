package io.consentbridge.packaging;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The built jar, started with {@code java -jar} as an operator would: on its embedded defaults
 * (in-process Kafka on localhost:9092, H2 under ./data), answering health on the management port,
 * and stopping cleanly on SIGTERM. Also: missing required settings stop it with one clear line.
 */
class JarStartIT {
    static final Path JAR = Path.of("target", "consent-bridge.jar").toAbsolutePath();

    @Test
    void startsOnEmbeddedDefaultsAndAnswersHealthOnTheManagementPort() throws Exception {
        Path workDir = Files.createTempDirectory("consent-bridge-jar");
        int httpPort = freePort();
        int managementPort = freePort();
        ProcessBuilder builder = new ProcessBuilder(javaBin(), "-jar", JAR.toString())
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("out.log").toFile());
        builder.environment().keySet().removeIf(k -> k.equals("KAFKA_BROKERS") || k.equals("DB_URL"));
        builder.environment().put("NYLAS_API_KEY", "nyk_jar_test_key_9e1");
        builder.environment().put("NYLAS_CLIENT_ID", "jar-test-client");
        builder.environment().put("HTTP_PORT", String.valueOf(httpPort));
        builder.environment().put("MANAGEMENT_PORT", String.valueOf(managementPort));
        long started = System.nanoTime();
        Process process = builder.start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            URI health = URI.create("http://localhost:" + managementPort + "/observe/health");
            int status = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (status != 200 && System.nanoTime() < deadline && process.isAlive()) {
                try {
                    status = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode();
                } catch (IOException notYet) {
                    Thread.sleep(200);
                }
            }
            long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            String log = Files.readString(workDir.resolve("out.log"));
            assertThat(status).as("health, log:\n" + log).isEqualTo(200);
            System.out.println("java -jar to /observe/health 200 on embedded defaults: " + readyMillis + " ms");
            assertThat(log).contains("embedded single-node Kafka broker on localhost:9092");
            assertThat(log).doesNotContain("nyk_jar_test_key_9e1");
            assertThat(Files.isDirectory(workDir.resolve("data"))).isTrue();

            URI callback = URI.create("http://localhost:" + httpPort + "/nylas/admin-consent/callback?state=nope&admin_consent=true");
            assertThat(http.send(HttpRequest.newBuilder(callback).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(400);

            process.destroy(); // SIGTERM
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("stopped on SIGTERM").isTrue();
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void refusesToStartWithoutTheNylasSettings() throws Exception {
        Path workDir = Files.createTempDirectory("consent-bridge-jar");
        ProcessBuilder builder = new ProcessBuilder(javaBin(), "-jar", JAR.toString()).directory(workDir.toFile()).redirectErrorStream(true);
        builder.environment().remove("NYLAS_API_KEY");
        builder.environment().remove("NYLAS_CLIENT_ID");
        Process process = builder.start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.exitValue()).isEqualTo(2);
        assertThat(output).contains("set NYLAS_API_KEY and NYLAS_CLIENT_ID");
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
