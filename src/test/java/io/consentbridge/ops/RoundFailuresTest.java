package io.consentbridge.ops;

import io.consentbridge.support.MovableClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class RoundFailuresTest {
    @Test
    void aRouteFailingTenTimesASecondGetsOneLineAtOnceThenOneEveryThirtySeconds() {
        MovableClock clock = new MovableClock(Instant.parse("2026-12-02T10:00:00Z"));
        RoundFailures failures = new RoundFailures(clock, Duration.ofSeconds(30));
        int lines = 0;
        int lastUnlogged = -1;
        for (int round = 0; round < 600; round++) {          // a minute of rounds every 100 ms
            int unlogged = failures.toLog("outbox-relay");
            if (unlogged >= 0) {
                lines++;
                lastUnlogged = unlogged;
            }
            clock.now = clock.now.plusMillis(100);
        }
        assertThat(lines).isEqualTo(2);
        assertThat(lastUnlogged).as("rounds between the two lines").isEqualTo(299);
        assertThat(failures.toLog("grant-claims")).as("another route's first failure").isZero();
    }
}
