package io.consentbridge.packaging;

import org.apache.camel.test.AvailablePortFinder;
import org.junit.jupiter.api.Test;

import java.io.IOException;
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
        Files.createDirectories(workDir.resolve("config"));
        Files.writeString(workDir.resolve("config").resolve("application.properties"), "admin.token = token-from-disk\n");
        int httpPort = AvailablePortFinder.getNextAvailable();
        int managementPort = AvailablePortFinder.getNextAvailable();
        ProcessBuilder builder = new ProcessBuilder(javaBin(), "-jar", JAR.toString())
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("out.log").toFile());
        builder.environment().keySet().removeIf(k -> k.equals("KAFKA_BROKERS") || k.equals("DB_URL") || k.equals("ADMIN_TOKEN"));
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

            // The operator's config/application.properties beside the jar wins over the jar's own copy:
            // the status endpoint is on (token from the file), where the jar's default leaves it off.
            URI tenantStatus = URI.create("http://localhost:" + managementPort + "/onboarding/nobody");
            assertThat(http.send(HttpRequest.newBuilder(tenantStatus).header("Authorization", "Bearer wrong").build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
            assertThat(http.send(HttpRequest.newBuilder(tenantStatus).header("Authorization", "Bearer token-from-disk").build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);

            process.destroy(); // SIGTERM
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("stopped on SIGTERM").isTrue();
        } finally {
            process.destroyForcibly();
        }
    }

    /** The README's first command: demo mode, then the whole flow as a person would do it. */
    @Test
    void demoModeRunsTheWholeFlowOnOneMachine() throws Exception {
        Path workDir = Files.createTempDirectory("consent-bridge-demo");
        int httpPort = AvailablePortFinder.getNextAvailable();
        int managementPort = AvailablePortFinder.getNextAvailable();
        ProcessBuilder builder = new ProcessBuilder(javaBin(), "-jar", JAR.toString(), "--demo")
                .directory(workDir.toFile()).redirectErrorStream(true).redirectOutput(workDir.resolve("out.log").toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("NYLAS_") || k.equals("KAFKA_BROKERS") || k.equals("DB_URL"));
        builder.environment().put("HTTP_PORT", String.valueOf(httpPort));
        builder.environment().put("MANAGEMENT_PORT", String.valueOf(managementPort));
        builder.environment().put("CONSENT_REDIRECT_URI", "http://localhost:" + httpPort + "/nylas/admin-consent/callback");
        builder.environment().put("ADMIN_TOKEN", "demo-admin");
        Process process = builder.start();
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        try {
            awaitHealthy(http, managementPort, process, workDir);
            try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, String>(java.util.Map.of(
                    "bootstrap.servers", "localhost:9092",
                    "key.serializer", org.apache.kafka.common.serialization.StringSerializer.class,
                    "value.serializer", org.apache.kafka.common.serialization.StringSerializer.class))) {
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("tenant-onboarding-requests", "contoso",
                        "{\"request_id\":\"req-0001\",\"tenant_id\":\"contoso\",\"mailboxes\":[\"ada@contoso.com\",\"grace@contoso.com\"]}")).get();
            }
            String link = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (link == null && System.nanoTime() < deadline) {
                link = Files.readAllLines(workDir.resolve("out.log")).stream()
                        .filter(l -> l.contains("DEMO: consent link for tenant contoso: "))
                        .map(l -> l.substring(l.indexOf("http"))).findFirst().orElse(null);
                Thread.sleep(200);
            }
            assertThat(link).as("consent link in the demo log").isNotNull();
            // The simulated consent page, then "Approve", then our callback.
            HttpResponse<String> consentPage = http.send(HttpRequest.newBuilder(URI.create(link)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(consentPage.body()).contains("Approve");
            HttpResponse<String> approve = http.send(HttpRequest.newBuilder(URI.create(link + "&demo_answer=approve")).build(), HttpResponse.BodyHandlers.ofString());
            URI callback = URI.create(approve.headers().firstValue("Location").orElseThrow());
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(callback).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("Consent recorded");

            URI status = URI.create("http://localhost:" + managementPort + "/onboarding/contoso");
            String body = "";
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!body.contains("\"granted\":2") && System.nanoTime() < deadline) {
                body = http.send(HttpRequest.newBuilder(status).header("Authorization", "Bearer demo-admin").build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                Thread.sleep(200);
            }
            assertThat(body).contains("\"consent_status\":\"granted\"").contains("\"granted\":2");
            process.destroy();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            process.destroyForcibly();
        }
    }

    private static void awaitHealthy(HttpClient http, int managementPort, Process process, Path workDir) throws Exception {
        URI health = URI.create("http://localhost:" + managementPort + "/observe/health");
        int status = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (status != 200 && System.nanoTime() < deadline && process.isAlive()) {
            try {
                status = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        assertThat(status).as("health, log:\n" + Files.readString(workDir.resolve("out.log"))).isEqualTo(200);
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

}
