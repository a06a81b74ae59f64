package io.consentbridge.nylas;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Every call to Nylas waits here for its turn (route nylas-call), so that the deployment stays
 * under {@code NYLAS_MAX_RPS} in every sliding second (contract §1), not only on average.
 *
 * <p>Turns are evenly spaced, never bunched: {@code fill} of the cap's calls per second, the rest
 * left as headroom for the time between a turn and the call's arrival at Nylas (scheduling, a GC
 * pause). They are reserved a few at a time on the {@link CallTimeline} that all instances share,
 * so instances neither need to know how many of them there are nor can their calls pile up on one
 * another. A caller that wakes too late for its turn gives it up and takes a later one: a call sent
 * late would arrive close behind the next caller's, which is on time.
 *
 * <p>A 429 of Nylas's own halves this instance's pace ({@link NylasRateGovernor}): its turns are
 * then spaced twice as far.
 *
 * <p>A freshly started instance warms up: for {@code warmUp} from its first turn its turns are spaced
 * wider, from 1 / {@link #WARM_UP_START} of the usual spacing at first down to the usual at the end.
 * A cold JVM (interpreting, compiling, on cores that other processes' compilers share) stalls between a
 * turn and the call's write for a few hundred milliseconds at a time; the stalled calls then leave
 * together, close behind the next turns. The fill's headroom covers such a stall on a warm instance;
 * the wider spacing covers it on a cold one (docs/benchmarks.md: three freshly started instances
 * put 41 calls on the wire in one sliding second under a cap of 40 without it).
 */
public class NylasRateBudget {
    /**
     * How far ahead an instance reserves turns at most: as many turns as it has callers waiting, up to
     * this much time's worth (turns reserved and not taken in time pass unused: the callers that are
     * waiting now are the ones sure to take them).
     */
    static final long LOOKAHEAD_NANOS = Duration.ofMillis(200).toNanos();
    /** A turn missed by more than this is given up: the call would come too close behind the next one. */
    static final long LATE_NANOS = Duration.ofMillis(20).toNanos();
    /** The share of the usual pace an instance's first turns are spaced for, rising to 1 over the warm-up. */
    static final double WARM_UP_START = 0.75;

    private final CallTimeline timeline;
    private final NylasRateGovernor governor;
    private final double fill;
    private final long warmUpNanos;
    /** When this instance took its first turn; 0 before it did. */
    private long firstTurn;
    private final ArrayDeque<Long> turns = new ArrayDeque<>();
    private final LongAdder missed = new LongAdder();
    private final AtomicInteger waiting = new AtomicInteger();

    /**
     * @param fill the share of the cap the turns use (0.5 to 1): 0.92 leaves 8 % of every second for
     *             calls that arrive later than their turn
     * @param warmUp how long after its first turn this instance's turns are spaced wider (zero: not at all)
     */
    public NylasRateBudget(CallTimeline timeline, NylasRateGovernor governor, double fill, Duration warmUp) {
        if (!validFill(fill)) {
            throw new IllegalArgumentException("nylas.rate-budget.fill must be between 0.5 and 1, was " + fill);
        }
        if (warmUp.isNegative()) {
            throw new IllegalArgumentException("nylas.rate-budget.warm-up must not be negative, was " + warmUp);
        }
        this.timeline = timeline;
        this.governor = governor;
        this.fill = fill;
        this.warmUpNanos = warmUp.toNanos();
    }

    /** Without a warm-up. */
    public NylasRateBudget(CallTimeline timeline, NylasRateGovernor governor, double fill) {
        this(timeline, governor, fill, Duration.ZERO);
    }

    /** Whether {@code fill} is a share of the cap this budget takes: 0.5 to 1 (not NaN). */
    public static boolean validFill(double fill) {
        return fill >= 0.5 && fill <= 1.0;
    }

    /** Returns when the caller may send its call. */
    public void awaitTurn() throws InterruptedException {
        while (true) {
            long turn;
            waiting.incrementAndGet();
            try {
                turn = nextTurn();
            } finally {
                waiting.decrementAndGet();
            }
            long wait = turn - System.nanoTime();
            while (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
                wait = turn - System.nanoTime();
            }
            if (-wait <= LATE_NANOS) {
                return;
            }
            missed.increment();
        }
    }

    /** Turns given up because their caller woke too late (a sign of an overloaded machine). */
    public long missedTurns() {
        return missed.sum();
    }

    /** Calls per second this instance's turns are spaced for now. */
    public double pace() {
        return governor.currentLimit() * fill * warmth(System.nanoTime());
    }

    /** The share of the usual pace for turns reserved at {@code now}: below 1 during the warm-up. */
    synchronized double warmth(long now) {
        if (warmUpNanos == 0) {
            return 1.0;
        }
        if (firstTurn == 0) {
            return WARM_UP_START;
        }
        double done = Math.min(1.0, (double) (now - firstTurn) / warmUpNanos);
        return WARM_UP_START + (1.0 - WARM_UP_START) * done;
    }

    private synchronized long nextTurn() {
        long now = System.nanoTime();
        // Turns nobody took in time pass unused.
        while (!turns.isEmpty() && now - turns.peekFirst() > LATE_NANOS) {
            turns.pollFirst();
        }
        if (firstTurn == 0) {
            firstTurn = now == 0 ? 1 : now;
        }
        if (turns.isEmpty()) {
            long spacing = (long) (1_000_000_000L / pace());
            int count = (int) Math.max(1, Math.min(waiting.get(), LOOKAHEAD_NANOS / spacing));
            // The time line answers "in so many nanoseconds from the moment it read its clock", a moment
            // somewhere between asking and hearing back: counted from the middle (Cristian's estimate),
            // a slow answer (a loaded database or machine) shifts these turns onto another instance's by at
            // most half its round trip, not all of it.
            long asked = System.nanoTime();
            long delay = timeline.reserve(count, spacing);
            long heard = System.nanoTime();
            long first = asked + (heard - asked) / 2 + delay;
            for (int i = 0; i < count; i++) {
                turns.addLast(first + i * spacing);
            }
        }
        return turns.pollFirst();
    }
}
