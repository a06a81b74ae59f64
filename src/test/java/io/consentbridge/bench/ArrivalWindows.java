package io.consentbridge.bench;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Nylas calls per second as the stand-in saw them, from the arrival time of each request: the busiest
 * sliding second (any 1-s interval, found by starting one at every arrival) and the busiest fixed
 * second (whole seconds of the clock), and how many fixed seconds went over a cap.
 */
public record ArrivalWindows(int arrivals, int peakSliding, Instant peakSlidingAt, int peakFixed, int fixedSeconds, int fixedOverCap,
                      int slidingStartsOverCap) {
    private static final long SECOND_MICROS = 1_000_000;

    public static ArrivalWindows of(List<Instant> arrivalTimes, int cap) {
        long[] micros = arrivalTimes.stream().mapToLong(t -> t.getEpochSecond() * SECOND_MICROS + t.getNano() / 1000).sorted().toArray();
        int peakSliding = 0;
        long peakStart = 0;
        int overCap = 0;
        for (int i = 0, j = 0; i < micros.length; i++) {
            while (j < micros.length && micros[j] < micros[i] + SECOND_MICROS) {
                j++;
            }
            int inWindow = j - i;
            if (inWindow > cap) {
                overCap++;
            }
            if (inWindow > peakSliding) {
                peakSliding = inWindow;
                peakStart = micros[i];
            }
        }
        Map<Long, Integer> bySecond = new TreeMap<>();
        for (long t : micros) {
            bySecond.merge(t / SECOND_MICROS, 1, Integer::sum);
        }
        int peakFixed = bySecond.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        int fixedOver = (int) bySecond.values().stream().filter(n -> n > cap).count();
        Instant at = Instant.ofEpochSecond(peakStart / SECOND_MICROS, (peakStart % SECOND_MICROS) * 1000);
        return new ArrivalWindows(micros.length, peakSliding, at, peakFixed, bySecond.size(), fixedOver, overCap);
    }
}
