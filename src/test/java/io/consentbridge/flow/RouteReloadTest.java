package io.consentbridge.flow;

import io.consentbridge.shared.TwoInstancesTest;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.apache.camel.component.seda.SedaEndpoint;
import org.apache.logging.log4j.core.Appender;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * ROUTES_RELOAD=true: an edited route file is reloaded without a restart; an edit that does not
 * load leaves the running routes as they were.
 */
class RouteReloadTest {

    @Test
    void anEditIsPickedUpAndABrokenEditKeepsTheRunningRoutes() throws Exception {
        Path routes = copyOfTheBundledRoutes();
        Path ping = routes.resolve("ping.camel.yaml");
        save(ping, route("constant: \"v1\""));
        try (BridgeUnderTest bridge = new BridgeUnderTest().with("routes.dir", routes.toString()).with("routes.reload", "true").start()) {
            URI uri = URI.create("http://localhost:" + bridge.httpPort + "/ping");
            assertThat(bridge.get(uri, null).body()).isEqualTo("v1");

            save(ping, route("constant: \"v2\""));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> "v2".equals(bridge.get(uri, null).body()));

            StringWriter logs = new StringWriter();
            Appender capture = InputBoundaryTest.attach(logs);
            try {
                save(ping, route("constnt: \"v3\""));
                // The watcher tries the broken file and says so in one line; the old route still answers.
                await().atMost(Duration.ofSeconds(30)).until(() -> logs.toString().contains("Unsupported field: constnt"));
            } finally {
                InputBoundaryTest.detach(capture);
            }
            // (The watcher may see one save as two changes: each report is one line.)
            assertThat(logs.toString().lines().filter(l -> l.contains("Unsupported field: constnt")))
                    .isNotEmpty().allSatisfy(line -> assertThat(line).contains("Error reloading routes", "ping.camel.yaml", "line 7, column 22"));
            assertThat(bridge.get(uri, null).body()).isEqualTo("v2");
            // The rest of the bundle is untouched.
            assertThat(bridge.get(bridge.managementUri("/observe/health"), null).statusCode()).isEqualTo(200);
        }
    }

    /**
     * The grant routes reloaded in the middle of a fan-out: the work waiting for a worker, dropped with the
     * old route, is claimed again by the new one, and every mailbox is granted once. (Before, the dropped
     * work stayed held by this instance: no other instance took it, nor did this one.)
     */
    @Test
    void reloadingTheGrantRoutesDuringAFanOutLeavesNoMailboxBehind() throws Exception {
        Path routes = copyOfTheBundledRoutes();
        try (BridgeUnderTest bridge = new BridgeUnderTest().with("routes.dir", routes.toString()).with("routes.reload", "true")
                .with("grants.consumers", "4").start()) {
            TopicReader urls = bridge.reader("consent-urls");
            TopicReader results = bridge.reader("results");
            String tenant = "reloadco";
            int mailboxes = 24;
            List<String> emails = IntStream.range(0, mailboxes).mapToObj(i -> "user" + i + "@" + tenant + ".example").toList();
            bridge.send("onboarding", tenant, TwoInstancesTest.onboarding("req-" + tenant, tenant, emails));
            String link = urls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), Duration.ofSeconds(30))
                    .path("data").path("consent_url").asText();
            assertThat(bridge.consentVia(link).statusCode()).isEqualTo(200);
            // Slow answers: while four workers call, the rest of the claimed work waits for them in their queue.
            bridge.nylas.delay(Duration.ofSeconds(2));
            SedaEndpoint queue = bridge.context().getEndpoint("seda:grant-work", SedaEndpoint.class);
            await().atMost(Duration.ofSeconds(30)).until(() -> queue.getCurrentQueueSize() >= 3);

            Object before = bridge.context().getRoute("grant-worker");
            Path grants = routes.resolve("grants.camel.yaml");
            save(grants, Files.readString(grants) + "\n# edited during a fan-out\n");
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                Object now = bridge.context().getRoute("grant-worker");
                return now != null && now != before;
            });
            bridge.nylas.delay(Duration.ZERO);

            await().atMost(Duration.ofSeconds(60)).until(() -> TwoInstancesTest.count(results, "grant.created", tenant) == mailboxes);
            bridge.awaitIdle();
            assertThat(bridge.nylas.grantCalls()).as("one grant call per mailbox").isEqualTo(mailboxes);
        }
    }

    /** A folder with the bundled route files, for ROUTES_DIR. */
    static Path copyOfTheBundledRoutes() throws java.io.IOException {
        Path routes = Files.createTempDirectory("reload-routes");
        try (Stream<Path> bundled = Files.list(Path.of("routes"))) {
            for (Path file : bundled.toList()) {
                Files.copy(file, routes.resolve(file.getFileName()));
            }
        }
        return routes;
    }

    /** Saves as an editor does: the whole file at once (write beside it, then move over it). */
    static void save(Path file, String text) throws java.io.IOException {
        Path next = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(next, text);
        Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static String route(String body) {
        return """
                - route:
                    id: ping
                    from:
                      uri: platform-http:/ping
                      steps:
                        - setBody:
                            %s
                """.formatted(body);
    }
}
