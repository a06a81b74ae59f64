package io.consentbridge.nylas;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The deployment's cap on calls to Nylas per second ({@code nylas.max-requests-per-second}) as this
 * instance paces its turns ({@link NylasRateBudget}). Each 429 of Nylas's own halves it (down to
 * 1), and each success wins one call per second back, up to the cap.
 */
public class NylasRateGovernor {
    private final int max;
    private final AtomicInteger current;

    public NylasRateGovernor(int maxPerSecond) {
        if (maxPerSecond < 1) {
            throw new IllegalArgumentException("nylas.max-requests-per-second must be at least 1, was " + maxPerSecond);
        }
        this.max = maxPerSecond;
        this.current = new AtomicInteger(maxPerSecond);
    }

    public int currentLimit() {
        return current.get();
    }

    public int maxLimit() {
        return max;
    }

    public void throttled() {
        current.updateAndGet(v -> Math.max(1, v / 2));
    }

    public void succeeded() {
        if (current.get() < max) {
            current.updateAndGet(v -> Math.min(max, v + 1));
        }
    }
}
