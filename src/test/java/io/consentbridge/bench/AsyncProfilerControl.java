package io.consentbridge.bench;

import java.nio.file.Path;

/**
 * Starts and stops async-profiler in a running JVM (this one or another) through jcmd, for the
 * benchmarks' {@code -Dbench.async-profiler=path/to/libasyncProfiler.so}. The library comes in the
 * Maven artifact {@code tools.profiler:async-profiler:4.1:jar:linux-x64} (unzip it). The agent's
 * options are quoted: jcmd would read {@code a=b} as an option of its own.
 */
final class AsyncProfilerControl {
    /** The library named by -Dbench.async-profiler, or null: no profiling. */
    static final String LIBRARY = System.getProperty("bench.async-profiler", "").isBlank() ? null : System.getProperty("bench.async-profiler");

    private AsyncProfilerControl() {
    }

    /**
     * Starts sampling {@code event} (itimer: CPU; wall: every thread, waiting included), per thread.
     * A Java method as the event ({@code org.h2.engine.Database.getNextModificationMetaId}) records
     * every call, with its stack.
     */
    static void start(long pid, String event) throws Exception {
        String interval = "wall".equals(event) ? "5ms" : event.contains(".") ? "1" : "1ms";
        command(pid, "start,event=" + event + ",interval=" + interval + ",threads");
    }

    /** Stops and writes collapsed stacks (one line per stack, the thread first). */
    static void stop(long pid, Path file) throws Exception {
        command(pid, "stop,collapsed,file=" + file);
    }

    /** jcmd answers 0 even when the agent refuses the command: its own "[ERROR]" line says so. */
    private static void command(long pid, String command) throws Exception {
        String out = GrantCostBenchmark.run(GrantCostBenchmark.javaBin("jcmd"), String.valueOf(pid), "JVMTI.agent_load", LIBRARY,
                '"' + command + '"');
        if (out.contains("[ERROR]")) {
            throw new IllegalStateException("async-profiler " + command + ": " + out);
        }
    }
}
