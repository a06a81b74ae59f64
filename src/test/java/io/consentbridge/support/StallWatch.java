package io.consentbridge.support;

import com.sun.management.GarbageCollectionNotificationInfo;

import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/**
 * Notes when this JVM stood still: a thread that asks to sleep 5 ms and wakes much later (the whole
 * process paused, or starved of a core), and every garbage collection with its pause. A test that reads
 * times (arrivals at the Nylas stand-in) prints what it saw around a moment, so a failure says whether
 * the JVM stalled then.
 */
public final class StallWatch implements AutoCloseable {
    public record Stall(Instant at, Duration length, String what) {
        @Override
        public String toString() {
            return at + " " + what + " " + length.toMillis() + " ms";
        }
    }

    private static final long NAP_NANOS = Duration.ofMillis(5).toNanos();
    private final List<Stall> stalls = new CopyOnWriteArrayList<>();
    private final long reportOverNanos;
    private final Thread watcher;
    private final List<Runnable> unsubscribe = new ArrayList<>();
    private volatile boolean running = true;

    /** @param reportOver a wake-up this much later than asked is noted as a stall */
    public StallWatch(Duration reportOver) {
        this.reportOverNanos = reportOver.toNanos();
        watcher = new Thread(this::watch, "stall-watch");
        watcher.setDaemon(true);
        watcher.start();
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                NotificationListener listener = (notification, handback) -> {
                    if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
                        GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
                        stalls.add(new Stall(Instant.ofEpochMilli(jvmStart + info.getGcInfo().getStartTime()),
                                Duration.ofMillis(info.getGcInfo().getDuration()), "gc " + info.getGcName() + " (" + info.getGcCause() + ")"));
                    }
                };
                emitter.addNotificationListener(listener, null, null);
                unsubscribe.add(() -> {
                    try {
                        emitter.removeNotificationListener(listener);
                    } catch (Exception ignored) {
                        // gone with the JVM
                    }
                });
            }
        }
    }

    private void watch() {
        while (running) {
            long before = System.nanoTime();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                return;
            }
            long late = System.nanoTime() - before - NAP_NANOS;
            if (late > reportOverNanos) {
                stalls.add(new Stall(Instant.now().minusNanos(late + NAP_NANOS), Duration.ofNanos(late), "woke late by"));
            }
        }
    }

    /** What was noted from {@code from} to {@code to}, one line. */
    public String between(Instant from, Instant to) {
        String seen = stalls.stream().filter(s -> !s.at().isBefore(from) && s.at().isBefore(to)).map(Stall::toString)
                .collect(Collectors.joining("; "));
        return seen.isEmpty() ? "none" : seen;
    }

    @Override
    public void close() {
        running = false;
        watcher.interrupt();
        unsubscribe.forEach(Runnable::run);
    }
}
