package io.consentbridge.shared;

import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A second instance joins while the first is working on onboarding requests (Nylas answers slowly):
 * the group moves partitions to it, and the first finishes and commits its requests in flight before
 * letting them go, so no request is worked on twice: one credential and one link per tenant.
 */
class RebalanceHandOverTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final int TENANTS = 20;

    @Test
    void requestsInFlightWhenAnInstanceJoinsAreWorkedOnOnce() {
        LocalPostgres postgres = LocalPostgres.shared();
        String db = postgres.createDatabase("handover_" + UUID.randomUUID().toString().substring(0, 8));
        try (NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start()) {
            BridgeUnderTest a = new BridgeUnderTest(nylas, null, db).with("ledger.user", LocalPostgres.USER);
            BridgeUnderTest b = new BridgeUnderTest(nylas, a.settings, null);
            try {
                a.start();
                TopicReader consentUrls = a.reader("consent-urls");
                nylas.delay(Duration.ofSeconds(8));
                List<String> tenants = IntStream.range(0, TENANTS).mapToObj(i -> "handover" + i).toList();
                tenants.forEach(t -> a.send("onboarding", t, "{\"request_id\":\"req-" + t + "\",\"tenant_id\":\"" + t + "\"}"));
                // Some credential calls are under way (each takes 8 s, longer than a start) when the second instance joins.
                await().atMost(WAIT).until(() -> !nylas.requests("POST", "/v3/connectors/microsoft/creds").isEmpty());
                b.start();
                await().atMost(WAIT).until(() -> consentUrls.events().stream()
                        .map(e -> e.path("subject").asText()).collect(Collectors.toSet()).containsAll(tenants));
                nylas.delay(Duration.ZERO);
                a.awaitIdle();
                b.awaitIdle();

                Map<String, Long> links = consentUrls.events().stream()
                        .collect(Collectors.groupingBy(e -> e.path("subject").asText(), Collectors.counting()));
                assertThat(links).as("consent links per tenant").containsOnlyKeys(tenants).allSatisfy((t, n) -> assertThat(n).isEqualTo(1L));
                Map<String, Long> credentials = nylas.requests("POST", "/v3/connectors/microsoft/creds").stream()
                        .map(r -> r.json().path("name").asText().split("/")[1])
                        .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
                assertThat(credentials).as("credential calls per tenant").containsOnlyKeys(tenants).allSatisfy((t, n) -> assertThat(n).isEqualTo(1L));
            } finally {
                b.close();
                a.close();
            }
        }
    }
}
