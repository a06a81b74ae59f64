package io.consentbridge.shared;

import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two instances on one Kafka cluster and one consumer group, each with its own H2 file: they would
 * split the work and refuse each other's consent links in silence. Each sees the other's ledger id
 * in the group's client ids and turns not ready; once the stray one is gone, the other is ready again.
 * (Instances sharing one PostgreSQL ledger stay ready: TwoInstancesTest.)
 */
class LedgerSharingTest {

    @Test
    void instancesOfOneGroupWithDifferentLedgersAreNotReady() throws Exception {
        NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start();
        try (BridgeUnderTest a = new BridgeUnderTest(nylas, null, null).with("ledger.sharing-check-interval", "PT1S").start()) {
            BridgeUnderTest b = new BridgeUnderTest(nylas, a.settings, null)
                    .with("ledger.url", "jdbc:h2:file:" + Files.createTempDirectory("other-ledger").resolve("ledger").toAbsolutePath());
            try {
                b.startWithoutWaiting();
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() ->
                        a.get(a.managementUri("/observe/health"), null).statusCode() == 503
                                && b.get(b.managementUri("/observe/health"), null).statusCode() == 503);
                assertThat(a.get(a.managementUri("/observe/health"), null).body()).contains("ledger-sharing");
            } finally {
                b.stop();
            }
            // The stray instance has left the group: the first is ready again.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> a.get(a.managementUri("/observe/health"), null).statusCode() == 200);
        }
    }
}
