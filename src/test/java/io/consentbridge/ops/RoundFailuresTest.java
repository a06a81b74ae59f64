package io.consentbridge.ops;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;

import static org.assertj.core.api.Assertions.assertThat;

class RoundFailuresTest {
    static final class Ticking extends Clock {
        Instant now = Instant.parse("2026-12-02T10:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aRouteFailingTenTimesASecondGetsOneLineAtOnceThenOneEveryThirtySeconds() {
        Ticking clock = new Ticking();
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
