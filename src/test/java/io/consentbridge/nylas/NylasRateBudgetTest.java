package io.consentbridge.nylas;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The pace of calls to Nylas: turns evenly spaced, so that no sliding second holds more than the cap,
 * whatever the callers do; a caller that wakes too late gives its turn up rather than bunching.
 */
class NylasRateBudgetTest {
    @Test
    void callersAtOnceNeverPutMoreThanTheCapInAnySlidingSecond() throws Exception {
        int cap = 20;
        NylasRateBudget budget = new NylasRateBudget(CallTimeline.inMemory(), new NylasRateGovernor(cap), 0.92);
        ExecutorService callers = Executors.newFixedThreadPool(8);
        List<Long> sent = Collections.synchronizedList(new ArrayList<>());
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                done.add(callers.submit(() -> {
                    for (int n = 0; n < 8; n++) {
                        budget.awaitTurn();
                        sent.add(System.nanoTime());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            callers.shutdownNow();
        }
        List<Long> times = new ArrayList<>(sent);
        Collections.sort(times);
        int busiest = 0;
        for (int i = 0, j = 0; i < times.size(); i++) {
            while (j < times.size() && times.get(j) < times.get(i) + 1_000_000_000L) {
                j++;
            }
            busiest = Math.max(busiest, j - i);
        }
        double seconds = (times.get(times.size() - 1) - times.get(0)) / 1e9;
        System.out.printf("64 calls by 8 callers at a cap of %d/s: busiest sliding second %d, %.1f calls/s, %d turns missed%n",
                cap, busiest, (times.size() - 1) / seconds, budget.missedTurns());
        // Turns 1/18.4 s apart, each call within 20 ms of its turn: at most 19 in any second.
        assertThat(busiest).isLessThanOrEqualTo(19);
        assertThat(times).hasSize(64);
    }

    @Test
    void aRateLimitOfNylasSpacesTheTurnsTwiceAsFar() {
        NylasRateGovernor governor = new NylasRateGovernor(40);
        NylasRateBudget budget = new NylasRateBudget(CallTimeline.inMemory(), governor, 0.9);
        assertThat(budget.pace()).isEqualTo(36.0);
        governor.throttled();
        assertThat(budget.pace()).isEqualTo(18.0);
        governor.succeeded();
        assertThat(budget.pace()).isCloseTo(18.9, org.assertj.core.api.Assertions.within(1e-9));
    }

    @Test
    void aFreshInstanceSpacesItsTurnsWiderAtFirstAndReachesItsPaceAfterTheWarmUp() throws Exception {
        NylasRateBudget budget = new NylasRateBudget(CallTimeline.inMemory(), new NylasRateGovernor(40), 0.9, java.time.Duration.ofSeconds(10));
        assertThat(budget.pace()).as("before its first call").isEqualTo(36.0 * NylasRateBudget.WARM_UP_START);
        List<Long> sent = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            budget.awaitTurn();
            sent.add(System.nanoTime());
        }
        long first = sent.get(0);
        // 27 calls per second at first: turns 37 ms apart, not 27.8 ms.
        double spacingMs = (sent.get(4) - first) / 4 / 1e6;
        assertThat(spacingMs).isGreaterThan(33.0);
        assertThat(budget.warmth(first + 5_000_000_000L)).isCloseTo(0.875, org.assertj.core.api.Assertions.within(0.01));
        assertThat(budget.warmth(first + 10_500_000_000L)).isEqualTo(1.0);
        assertThat(budget.warmth(first + 3_600_000_000_000L)).isEqualTo(1.0);
        NylasRateBudget none = new NylasRateBudget(CallTimeline.inMemory(), new NylasRateGovernor(40), 0.9, java.time.Duration.ZERO);
        assertThat(none.pace()).isEqualTo(36.0);
    }

    @Test
    void theFillIsAShareOfTheCap() {
        assertThatThrownBy(() -> new NylasRateBudget(CallTimeline.inMemory(), new NylasRateGovernor(40), 1.2))
                .hasMessageContaining("nylas.rate-budget.fill");
        assertThatThrownBy(() -> new NylasRateBudget(CallTimeline.inMemory(), new NylasRateGovernor(40), Double.NaN))
                .hasMessageContaining("nylas.rate-budget.fill");
    }
}
