package io.consentbridge.packaging;

import io.consentbridge.support.JarLauncher;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The built jar, started with {@code java -jar} as an operator would: on its embedded defaults
 * (in-process Kafka on localhost:9092, H2 under ./data), answering health on the management port,
 * and stopping cleanly on SIGTERM. Also: missing required settings stop it with one clear line.
 */
class JarStartIT {

    @Test
    void startsOnEmbeddedDefaultsAndAnswersHealthOnTheManagementPort() throws Exception {
        JarLauncher jar = JarLauncher.inNewFolder("consent-bridge-jar")
                .env("NYLAS_API_KEY", "nyk_jar_test_key_9e1")
                .env("NYLAS_CLIENT_ID", "jar-test-client");
        Files.createDirectories(jar.workDir.resolve("config"));
        Files.writeString(jar.workDir.resolve("config").resolve("application.properties"), "admin.token = token-from-disk\n");
        try (JarLauncher.Running process = jar.start()) {
            long readyMillis = process.awaitHealthy(Duration.ofSeconds(120));
            String log = process.log();
            System.out.println("java -jar to /observe/health 200 on embedded defaults: " + readyMillis + " ms");
            assertThat(log).contains("embedded single-node Kafka broker on localhost:9092");
            assertThat(log).doesNotContain("nyk_jar_test_key_9e1");
            assertThat(Files.isDirectory(jar.workDir.resolve("data"))).isTrue();

            HttpClient http = HttpClient.newHttpClient();
            URI callback = jar.httpUri("/nylas/admin-consent/callback?state=nope&admin_consent=true");
            assertThat(http.send(HttpRequest.newBuilder(callback).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(400);

            // The operator's config/application.properties beside the jar wins over the jar's own copy:
            // the status endpoint is on (token from the file), where the jar's default leaves it off.
            URI tenantStatus = jar.managementUri("/onboarding/nobody");
            assertThat(http.send(HttpRequest.newBuilder(tenantStatus).header("Authorization", "Bearer wrong").build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
            assertThat(http.send(HttpRequest.newBuilder(tenantStatus).header("Authorization", "Bearer token-from-disk").build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);

            assertThat(process.stop(Duration.ofSeconds(60))).as("stopped on SIGTERM").isTrue();
        }
    }

    /** The README's first command: demo mode, then the whole flow as a person would do it. */
    @Test
    void demoModeRunsTheWholeFlowOnOneMachine() throws Exception {
        JarLauncher jar = JarLauncher.inNewFolder("consent-bridge-demo").args("--demo").env("ADMIN_TOKEN", "demo-admin");
        jar.env("CONSENT_REDIRECT_URI", jar.httpUri("/nylas/admin-consent/callback").toString());
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        try (JarLauncher.Running process = jar.start()) {
            process.awaitHealthy(Duration.ofSeconds(120));
            try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, String>(java.util.Map.of(
                    "bootstrap.servers", "localhost:9092",
                    "key.serializer", org.apache.kafka.common.serialization.StringSerializer.class,
                    "value.serializer", org.apache.kafka.common.serialization.StringSerializer.class))) {
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("tenant-onboarding-requests", "contoso",
                        "{\"request_id\":\"req-0001\",\"tenant_id\":\"contoso\",\"mailboxes\":[\"ada@contoso.com\",\"grace@contoso.com\"]}")).get();
            }
            String line = process.awaitLogLine("DEMO: consent link for tenant contoso: ", Duration.ofSeconds(60));
            String link = line.substring(line.indexOf("http"));
            // The simulated consent page, then "Approve", then our callback.
            HttpResponse<String> consentPage = http.send(HttpRequest.newBuilder(URI.create(link)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(consentPage.body()).contains("Approve");
            HttpResponse<String> approve = http.send(HttpRequest.newBuilder(URI.create(link + "&demo_answer=approve")).build(), HttpResponse.BodyHandlers.ofString());
            URI callback = URI.create(approve.headers().firstValue("Location").orElseThrow());
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(callback).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("Consent recorded");

            HttpRequest status = HttpRequest.newBuilder(jar.managementUri("/onboarding/contoso")).header("Authorization", "Bearer demo-admin").build();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                    assertThat(http.send(status, HttpResponse.BodyHandlers.ofString()).body())
                            .contains("\"consent_status\":\"granted\"").contains("\"granted\":2"));
            // The operator page from the packaged jar (its template and stylesheet are resources in it).
            String basic = "Basic " + java.util.Base64.getEncoder().encodeToString("operator:demo-admin".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            HttpResponse<String> operator = http.send(HttpRequest.newBuilder(jar.managementUri("/operator")).header("Authorization", basic).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(operator.statusCode()).isEqualTo(200);
            assertThat(operator.body()).contains("<td class=\"id\">contoso</td>").contains("<style>body{");
            assertThat(process.stop(Duration.ofSeconds(60))).isTrue();
        }
    }
}
