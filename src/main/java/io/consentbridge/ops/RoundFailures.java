package io.consentbridge.ops;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps the log readable while something the timers need is away (the ledger, Kafka): the claim and
 * relay timers run ten times a second, and a line for every failed round would bury everything else.
 * The first failure of a route is logged at once; while it keeps failing, one line per
 * {@code every} says how many rounds failed since the last line.
 */
public class RoundFailures {
    private record Last(long loggedAtMillis, int suppressed) {
    }

    private final Clock clock;
    private final long everyMillis;
    private final Map<String, Last> byRoute = new ConcurrentHashMap<>();

    public RoundFailures(Clock clock, Duration every) {
        this.clock = clock;
        this.everyMillis = every.toMillis();
    }

    /**
     * Whether this failed round of {@code routeId} gets a log line.
     *
     * @return -1 for no line; otherwise how many failed rounds went unlogged before this one
     */
    public int toLog(String routeId) {
        long now = clock.millis();
        int[] answer = {-1};
        byRoute.compute(routeId, (id, last) -> {
            if (last == null || now - last.loggedAtMillis() >= everyMillis) {
                answer[0] = last == null ? 0 : last.suppressed();
                return new Last(now, 0);
            }
            return new Last(last.loggedAtMillis(), last.suppressed() + 1);
        });
        return answer[0];
    }
}
