package io.consentbridge.nylas;

/**
 * The time line on which the deployment's calls to Nylas take their turns, evenly spaced: a turn
 * reserved by one caller is nobody else's, whichever instance it runs in.
 */
public interface CallTimeline {
    /**
     * Reserves {@code turns} consecutive turns {@code spacingNanos} apart, after the last turn
     * reserved so far (or now, when that one has passed).
     *
     * @return how long from now the first reserved turn is, in nanoseconds (0: now)
     */
    long reserve(int turns, long spacingNanos);

    /** A time line in this process only: for an instance that is alone on its ledger (an H2 file). */
    static CallTimeline inMemory() {
        return new CallTimeline() {
            private long next = System.nanoTime();

            @Override
            public synchronized long reserve(int turns, long spacingNanos) {
                long now = System.nanoTime();
                long first = Math.max(next, now);
                next = first + turns * spacingNanos;
                return first - now;
            }
        };
    }
}
