package io.consentbridge.flow;

import io.consentbridge.support.BridgeUnderTest;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The health probe never waits on a consumer's poll: with consumers that poll for 5 s at a time,
 * ten probes in a row each answer well under a second (an orchestrator's usual probe timeout is 1 s).
 * That it still turns 503 when the broker or the ledger is away: BrokerOutageTest, LedgerOutageTest.
 */
class HealthProbeTest {

    @Test
    void probesDoNotWaitForAConsumersPoll() {
        try (BridgeUnderTest bridge = new BridgeUnderTest().with("camel.component.kafka.poll-timeout-ms", "5000").start()) {
            List<Long> millis = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                long started = System.nanoTime();
                HttpResponse<String> answer = bridge.get(bridge.managementUri("/observe/health"), null);
                millis.add((System.nanoTime() - started) / 1_000_000);
                assertThat(answer.statusCode()).isEqualTo(200);
            }
            System.out.println("health probes with a 5 s poll, ms: " + millis);
            assertThat(millis).allMatch(ms -> ms < 1000);
        }
    }
}
