package io.consentbridge.nylas;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-second request cap that the routes' throttle reads, shared by every Nylas call of this
 * instance. {@code nylas.max-requests-per-second} is the cap of the whole deployment: this
 * instance's share is the cap divided by the instances alive on the same ledger
 * ({@link #shareAmong}). Each 429 of Nylas's own halves the limit (down to 1), and each success
 * wins one request per second back, up to the share.
 */
public class NylasRateGovernor {
    private final int max;
    private final AtomicInteger current;
    private volatile int share;

    public NylasRateGovernor(int maxPerSecond) {
        if (maxPerSecond < 1) {
            throw new IllegalArgumentException("nylas.max-requests-per-second must be at least 1, was " + maxPerSecond);
        }
        this.max = maxPerSecond;
        this.current = new AtomicInteger(maxPerSecond);
        this.share = maxPerSecond;
    }

    /**
     * This instance's share of the cap among {@code instances}; a newcomer not yet settled takes
     * one call a second until the others have lowered theirs.
     */
    public void shareAmong(int instances, boolean settled) {
        int next = settled ? Math.max(1, max / Math.max(1, instances)) : 1;
        int before = share;
        share = next;
        // Unthrottled, the limit follows the share at once; after a 429 it only comes down to it.
        current.updateAndGet(v -> v >= before ? next : Math.min(v, next));
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
        int limit = share;
        if (current.get() < limit) {
            current.updateAndGet(v -> Math.min(limit, v + 1));
        }
    }
}
