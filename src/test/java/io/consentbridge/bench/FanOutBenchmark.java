package io.consentbridge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.Settings;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * Bulk onboarding throughput: one tenant with many mailboxes, from the consent callback to the last
 * grant.created, against the Nylas stand-in answering after a fixed latency. Prints numbers; asserts
 * nothing about speed. Run: {@code mvn -B test -Pbenchmark} (-Dbench.mailboxes=N, -Dbench.latency-ms=L).
 */
class FanOutBenchmark {

    @Test
    void bulkFanOut() throws Exception {
        int mailboxes = Integer.getInteger("bench.mailboxes", 2000);
        int latencyMs = Integer.getInteger("bench.latency-ms", 50);
        try (BridgeUnderTest bridge = new BridgeUnderTest()) {
            bridge.nylas.delay(Duration.ofMillis(latencyMs));
            bridge.start();
            try (TopicReader urls = bridge.reader("consent-urls"); TopicReader results = bridge.reader("results")) {
                StringBuilder list = new StringBuilder();
                for (int i = 0; i < mailboxes; i++) {
                    list.append(i == 0 ? "" : ",").append("\"user").append(i).append("@bench.example.com\"");
                }
                long sent = System.nanoTime();
                bridge.send("onboarding", "bench", "{\"request_id\":\"bench-1\",\"tenant_id\":\"bench\",\"mailboxes\":[" + list + "]}");
                JsonNode issued = urls.awaitEvent(e -> "bench".equals(e.path("subject").asText()), Duration.ofMinutes(2));
                long linkMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);

                // Nylas calls per second, sampled each second while the grants run.
                List<Integer> perSecond = new ArrayList<>();
                ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
                int[] last = {0};
                sampler.scheduleAtFixedRate(() -> {
                    int now = bridge.nylas.requests("POST", "/v3/connect/custom").size();
                    perSecond.add(now - last[0]);
                    last[0] = now;
                }, 1, 1, TimeUnit.SECONDS);

                long consented = System.nanoTime();
                bridge.consentVia(issued.path("data").path("consent_url").asText());
                results.awaitEvent(e -> "consent.granted".equals(e.path("type").asText()), Duration.ofMinutes(2));
                long grantedEventMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - consented);
                await().atMost(Duration.ofMinutes(20)).pollInterval(Duration.ofMillis(200))
                        .until(() -> results.events("grant.created").size() >= mailboxes);
                long allGrantsMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - consented);
                sampler.shutdownNow();

                int peak = perSecond.stream().mapToInt(Integer::intValue).max().orElse(0);
                System.out.printf("%nFan-out benchmark: %d mailboxes, Nylas latency %d ms, cap %s req/s, %s grant consumers%n",
                        mailboxes, latencyMs, bridge.settings.getOrDefault("nylas.max-requests-per-second", "40"),
                        Settings.effective("grants.consumers", bridge.settings));
                System.out.printf("  request -> consent link published:   %6d ms%n", linkMs);
                System.out.printf("  callback -> consent.granted event:   %6d ms%n", grantedEventMs);
                System.out.printf("  callback -> last grant.created:      %6d ms (%.1f grants/s)%n",
                        allGrantsMs, mailboxes * 1000.0 / allGrantsMs);
                System.out.printf("  Nylas grant calls per second: peak %d, samples %s%n", peak, perSecond);
                System.out.printf("  grant calls made: %d, grant.created events: %d%n",
                        bridge.nylas.requests("POST", "/v3/connect/custom").size(), results.events("grant.created").size());
            }
        }
    }
}
