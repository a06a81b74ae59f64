package io.consentbridge.nylas;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-second request cap that the routes' throttle reads, shared by every Nylas call of this
 * instance. It starts at {@code nylas.max-requests-per-second}; each 429 halves it (down to 1),
 * and each success wins one request per second back, up to the configured cap.
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
