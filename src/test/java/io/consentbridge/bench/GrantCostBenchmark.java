package io.consentbridge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.Settings;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.JarLauncher;
import io.consentbridge.support.SharedKafka;
import io.consentbridge.support.TopicReader;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CPU per granted mailbox: the packaged bundle against {@link HandWrittenFanOut}, a plain Java program
 * doing the same fan-out, in one run, on one broker (the shared test broker) and one Nylas stand-in
 * (answering after a fixed latency), both in this JVM so that neither process pays for them.
 * <ul>
 *   <li>The bundle runs as {@code java -jar target/consent-bridge.jar} (a copy, so a build meanwhile does
 *   not pull the jar away), configured by environment variables. One tenant with N mailboxes is onboarded;
 *   its CPU (utime + stime of the process, /proc) is counted from just before the consent callback to the
 *   moment the N-th grant.created is read from the results topic.</li>
 *   <li>The hand-written program runs from this JVM's class path, whole (start to exit: its CPU comes to
 *   this JVM's cutime + cstime when it is reaped), once with N = 0 (start-up alone) and once with N;
 *   the difference is its cost of N grants.</li>
 *   <li>{@link DurableHandWrittenFanOut}, the same by hand with the bundle's durability (the work queued in the
 *   ledger, the events through an outbox), is measured the same way, as a second yardstick
 *   (-Dbench.durable=false leaves it out).</li>
 * </ul>
 * Both run with the same JVM options (none; -Dbench.jvm-options="..." adds some to both,
 * -Dbench.bundle-jvm-options="..." some to the bundle only, such as the README's launch options). Per-thread CPU
 * (/proc/pid/task) gives the share of the JIT compiler and GC threads. The bundle's idle CPU rate,
 * measured after the fan-out, tells how much of its figure is background work (health checks, outbox
 * and consumer polls). Rounds alternate the order. Prints numbers; asserts only the counts.
 * <p>Run: {@code mvn -q -o test -Pbenchmark -Dtest=GrantCostBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * (-Dbench.mailboxes=2000, -Dbench.latency-ms=50, -Dbench.rounds=2, -Dbench.idle-seconds=5,
 * -Dbench.jfr=true for JFR profiles of each bundle fan-out and hand-written run, summarised here and kept in /tmp,
 * -Dbench.async-profiler=path/to/libasyncProfiler.so for a CPU profile of each bundle fan-out, in /tmp
 * (-Dbench.profile-event=itimer by default; cpu, ctimer or wall as async-profiler names them),
 * -Dbench.jar=path for another build of the bundle).
 * Needs the packaged jar: {@code mvn -o -q package -DskipTests}.
 */
class GrantCostBenchmark {
    /** The packaged bundle; -Dbench.jar=path measures another build of it. */
    static final Path JAR = Path.of(System.getProperty("bench.jar", "target/consent-bridge.jar")).toAbsolutePath();
    static final String CUSTOM_AUTH = "/v3/connect/custom";
    static final ObjectMapper JSON = new ObjectMapper();

    final int mailboxes = Integer.getInteger("bench.mailboxes", 2000);
    final int latencyMs = Integer.getInteger("bench.latency-ms", 50);
    final int rounds = Integer.getInteger("bench.rounds", 2);
    final int idleSeconds = Integer.getInteger("bench.idle-seconds", 5);
    final boolean jfr = Boolean.getBoolean("bench.jfr");
    /** -Dbench.durable=false leaves out the second yardstick, DurableHandWrittenFanOut. */
    final boolean durable = Boolean.parseBoolean(System.getProperty("bench.durable", "true"));
    final List<String> jvmOptions = Arrays.stream(System.getProperty("bench.jvm-options", "").trim().split("\\s+"))
            .filter(o -> !o.isEmpty()).toList();
    /** -Dbench.bundle-jvm-options="...": options for the bundle only, such as the README's launch options. */
    final List<String> bundleJvmOptions = Arrays.stream(System.getProperty("bench.bundle-jvm-options", "").trim().split("\\s+"))
            .filter(o -> !o.isEmpty()).toList();
    final String bootstrap = SharedKafka.bootstrapServers();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();
    long clockTicksPerSecond;
    String jarBuilt;

    @Test
    void cpuPerGrantedMailbox() throws Exception {
        assertThat(JAR).as("the packaged bundle; build it with: mvn -o -q package -DskipTests").exists();
        Path jar = Files.createTempDirectory("grant-cost-jar").resolve("consent-bridge.jar");
        Files.copy(JAR, jar, StandardCopyOption.REPLACE_EXISTING);
        jarBuilt = Files.getLastModifiedTime(JAR).toString();
        clockTicksPerSecond = Long.parseLong(run("getconf", "CLK_TCK").trim());
        List<Round> results = new ArrayList<>();
        try (NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start()) {
            nylas.delay(Duration.ofMillis(latencyMs));
            String credentialId = credential(nylas);
            for (int round = 1; round <= rounds; round++) {
                boolean bundleFirst = round % 2 == 1;
                BundleRun bundle = null;
                if (bundleFirst) {
                    bundle = runBundle(round, nylas, jar);
                }
                String topic = createTopic("hand-written-r" + round + "-" + UUID.randomUUID().toString().substring(0, 6));
                HandRun startup = runHandWritten(HandWrittenFanOut.class, round, 0, nylas, credentialId, topic);
                HandRun fanOut = runHandWritten(HandWrittenFanOut.class, round, mailboxes, nylas, credentialId, topic);
                HandRun durableStartup = null;
                HandRun durableFanOut = null;
                if (durable) {
                    String durableTopic = createTopic("durable-hand-written-r" + round + "-" + UUID.randomUUID().toString().substring(0, 6));
                    durableStartup = runHandWritten(DurableHandWrittenFanOut.class, round, 0, nylas, credentialId, durableTopic);
                    durableFanOut = runHandWritten(DurableHandWrittenFanOut.class, round, mailboxes, nylas, credentialId, durableTopic);
                }
                if (!bundleFirst) {
                    bundle = runBundle(round, nylas, jar);
                }
                results.add(new Round(round, bundleFirst ? "bundle first" : "hand first", bundle, startup, fanOut, durableStartup, durableFanOut));
            }
        } finally {
            deleteQuietly(jar.getParent());
        }
        print(results);
    }

    // ---------------------------------------------------------------- the bundle

    BundleRun runBundle(int round, NylasStandIn nylas, Path jar) throws Exception {
        String id = "r" + round + "-" + UUID.randomUUID().toString().substring(0, 6);
        String tenant = "bench-" + id;
        Map<String, String> env = new HashMap<>();
        for (String name : List.of("ONBOARDING", "MAILBOX", "CONSENT_URL", "RESULT", "DLQ")) {
            env.put(name + "_TOPIC", name.toLowerCase().replace('_', '-') + "-" + id);
        }
        JarLauncher launcher = JarLauncher.inNewFolder("grant-cost-bundle").jar(jar)
                .jvmOptions(jvmOptions)
                .jvmOptions(bundleJvmOptions)
                // Settings without an environment variable, as JVM system properties (Camel's placeholders
                // read them first); a config/application.properties on disk does not win over the jar's copy.
                .jvmOptions(List.of("-Dkafka.group-id=bench-" + id))
                .env(env)
                .env("KAFKA_BROKERS", bootstrap)
                .env("NYLAS_API_URI", nylas.baseUri())
                .env("NYLAS_API_KEY", BridgeUnderTest.API_KEY)
                .env("NYLAS_CLIENT_ID", BridgeUnderTest.CLIENT_ID);
        Path work = launcher.workDir;
        launcher.env("DB_URL", "jdbc:h2:file:" + work.resolve("ledger").resolve("consent-bridge"))
                .env("CONSENT_REDIRECT_URI", launcher.httpUri("/nylas/admin-consent/callback").toString());
        JarLauncher.Running bundle = launcher.start();
        long pid = bundle.pid();
        boolean measured = false;
        try {
            long startupMs = bundle.awaitHealthy(Duration.ofSeconds(120));
            long startupTicks = processTicks(pid);
            try (TopicReader links = new TopicReader(bootstrap, env.get("CONSENT_URL_TOPIC"));
                 EventCounter results = new EventCounter(bootstrap, env.get("RESULT_TOPIC"));
                 KafkaProducer<String, String> producer = producer()) {
                StringBuilder list = new StringBuilder();
                for (int i = 0; i < mailboxes; i++) {
                    list.append(i == 0 ? "" : ",").append('"').append(tenant).append('-').append(i).append("@bench.example.com\"");
                }
                producer.send(new ProducerRecord<>(env.get("ONBOARDING_TOPIC"), tenant,
                        "{\"request_id\":\"" + tenant + "\",\"tenant_id\":\"" + tenant + "\",\"mailboxes\":[" + list + "]}")).get();
                JsonNode issued = links.awaitEvent(e -> tenant.equals(e.path("subject").asText()), Duration.ofMinutes(2));
                String consentUrl = issued.path("data").path("consent_url").asText();
                int callsBefore = nylas.requests("POST", CUSTOM_AUTH).size();
                Path recording = Path.of("/tmp", "bundle-fanout-" + id + ".jfr");
                if (AsyncProfilerControl.LIBRARY != null) {
                    AsyncProfilerControl.start(pid, System.getProperty("bench.profile-event", "itimer"));
                }
                if (jfr) {
                    run(javaBin("jcmd"), String.valueOf(pid), "JFR.start", "name=fanout", "settings=" + FanOutProfile.settings(),
                            "filename=" + recording);
                }
                Snapshot start = Snapshot.of(pid);
                // The threads read through the window too: a compiler thread that ends in it (the JVM adds
                // and removes them as the work comes and goes) is gone from a later reading.
                ThreadSampler threads = new ThreadSampler(pid);
                CompletableFuture<Snapshot> half = results.when("grant.created", mailboxes / 2, threads::snapshot);
                CompletableFuture<Snapshot> last = results.when("grant.created", mailboxes, threads::snapshot);
                HttpResponse<String> consentPage = consentVia(consentUrl);
                assertThat(consentPage.statusCode()).as("callback answer: " + consentPage.body()).isEqualTo(200);
                Snapshot end = last.get(10, TimeUnit.MINUTES);
                threads.stop();
                if (AsyncProfilerControl.LIBRARY != null) {
                    Path cpuProfile = Path.of("/tmp", "bundle-fanout-" + id + ".collapsed");
                    AsyncProfilerControl.stop(pid, cpuProfile);
                    System.out.println("  CPU profile of the fan-out (async-profiler, collapsed stacks per thread): " + cpuProfile);
                }
                if (jfr) {
                    run(javaBin("jcmd"), String.valueOf(pid), "JFR.stop", "name=fanout");
                }
                Thread.sleep(2000);
                Snapshot idleStart = Snapshot.of(pid);
                if (AsyncProfilerControl.LIBRARY != null) {
                    AsyncProfilerControl.start(pid, System.getProperty("bench.profile-event", "itimer"));
                }
                Thread.sleep(idleSeconds * 1000L);
                Snapshot idleEnd = Snapshot.of(pid);
                if (AsyncProfilerControl.LIBRARY != null) {
                    Path idleProfile = Path.of("/tmp", "bundle-idle-" + id + ".collapsed");
                    AsyncProfilerControl.stop(pid, idleProfile);
                    System.out.println("  CPU profile of the bundle at idle after it: " + idleProfile);
                }

                assertThat(results.count("grant.created")).as("grant.created events").isEqualTo(mailboxes);
                assertThat(results.count("grant.failed")).as("grant.failed events").isZero();
                assertThat(nylas.requests("POST", CUSTOM_AUTH).size() - callsBefore).as("grant calls at the stand-in").isEqualTo(mailboxes);
                measured = true;
                return new BundleRun(startupMs, ticksToMs(startupTicks), start, half.get(), end, idleStart, idleEnd, jfr ? recording : null);
            }
        } finally {
            if (!bundle.stop(Duration.ofSeconds(60))) {
                bundle.kill();
            }
            if (measured) {
                deleteQuietly(work);
            } else {
                System.out.println("The bundle's log and ledger are kept in " + work);
            }
        }
    }

    /** Follows a consent link as the admin's browser does: the stand-in's redirect, then the bundle's callback. */
    HttpResponse<String> consentVia(String consentUrl) throws Exception {
        HttpResponse<String> redirect = http.send(HttpRequest.newBuilder(URI.create(consentUrl)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(redirect.statusCode()).as("stand-in: " + redirect.body()).isEqualTo(302);
        URI callback = URI.create(redirect.headers().firstValue("Location").orElseThrow());
        return http.send(HttpRequest.newBuilder(callback).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    }

    // ---------------------------------------------------------------- the hand-written program

    HandRun runHandWritten(Class<?> program, int round, int n, NylasStandIn nylas, String credentialId, String topic) throws Exception {
        Path work = Files.createTempDirectory("grant-cost-hand");
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(javaBin("java")));
        command.addAll(jvmOptions);
        Path recording = jfr && n > 0 ? Path.of("/tmp", program.getSimpleName() + "-r" + round + "-" + UUID.randomUUID().toString().substring(0, 6) + ".jfr") : null;
        if (recording != null) {
            // The whole run (it cannot be started at the first grant from outside as cheaply); start-up is a few seconds of it.
            command.add("-XX:StartFlightRecording=dumponexit=true,filename=" + recording + ",settings=" + FanOutProfile.settings());
        }
        command.addAll(List.of("-cp", classPath, program.getName(), bootstrap, nylas.baseUri(), BridgeUnderTest.API_KEY,
                work.resolve("ledger").toString(), String.valueOf(n), topic, credentialId, program.getSimpleName() + "-r" + round));
        ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile())
                .redirectErrorStream(true).redirectOutput(work.resolve("out.log").toFile());
        int callsBefore = nylas.requests("POST", CUSTOM_AUTH).size();
        try (EventCounter events = new EventCounter(bootstrap, topic)) {
            long childTicks = childrenTicks();
            long childKernelTicks = childrenKernelTicks();
            long[] machine = machineTicks();
            long started = System.nanoTime();
            Process process = builder.start();
            long pid = process.pid();
            ThreadSampler threads = new ThreadSampler(pid);
            CompletableFuture<Snapshot> half = events.when("grant.created", Math.max(1, n / 2), threads::snapshot);
            CompletableFuture<Snapshot> last = events.when("grant.created", Math.max(1, n), threads::snapshot);
            boolean exited = process.waitFor(10, TimeUnit.MINUTES);
            long wallMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            long cpuTicks = childrenTicks() - childTicks;
            long kernelTicks = childrenKernelTicks() - childKernelTicks;
            long[] machineAfter = machineTicks();
            Map<String, Long> byKind = threads.stop();
            String log = Files.readString(work.resolve("out.log"));
            assertThat(exited).as("hand-written program finished").isTrue();
            assertThat(process.exitValue()).as(program.getSimpleName() + ", its output:\n" + log).isZero();
            String counts = log.lines().filter(l -> l.startsWith(program.getSimpleName() + ":")).findFirst().orElse("");
            assertThat(counts).contains("granted=" + n + " ");
            if (n > 0) {
                events.awaitCount("grant.created", n, Duration.ofMinutes(1));
            }
            assertThat(events.count("grant.created")).as("grant.created events of the hand-written program").isEqualTo(n);
            assertThat(nylas.requests("POST", CUSTOM_AUTH).size() - callsBefore).as("grant calls at the stand-in").isEqualTo(n);
            return new HandRun(wallMs, ticksToMs(cpuTicks), ticksToMs(kernelTicks), byKind, busyShare(machine, machineAfter),
                    n > 0 ? half.get(1, TimeUnit.MINUTES) : null, n > 0 ? last.get(1, TimeUnit.MINUTES) : null, recording);
        } finally {
            deleteQuietly(work);
        }
    }

    // ---------------------------------------------------------------- the table

    void print(List<Round> results) throws Exception {
        int consumers = Integer.parseInt(Settings.effective("grants.consumers", Map.of()));
        String cap = Settings.effective("nylas.max-requests-per-second", Map.of());
        int secondHalf = mailboxes - mailboxes / 2;
        StringBuilder out = new StringBuilder();
        out.append(String.format("%nGrant cost benchmark, %s: %d mailboxes, Nylas stand-in latency %d ms, cap %s/s, %d workers,"
                        + " %d cores, jar %s%s%n", LocalDate.now(), mailboxes, latencyMs, cap, consumers,
                Runtime.getRuntime().availableProcessors(), JAR + " built " + jarBuilt,
                (jvmOptions.isEmpty() ? "" : ", JVM options " + jvmOptions)
                        + (bundleJvmOptions.isEmpty() ? "" : ", bundle only " + bundleJvmOptions)));
        out.append("  CPU ms per granted mailbox, bundle (b) / hand-written (h) / ratio:\n"
                + "    all:        b from the consent callback to the N-th grant.created; h its whole run less its run with N = 0\n"
                + "    2nd half:   both from the N/2-th grant.created to the N-th (the JIT has done most of its work by then)\n"
                + "    no JIT:     as 'all', less the CPU of the C1/C2 compiler threads\n"
                + "    b idle-adj: b as 'all', less its idle CPU rate (measured after the fan-out) x the window\n");
        out.append(String.format("  %-5s %-12s | %-21s | %-21s | %-21s | %-14s | %-9s | %-11s | %-9s%n", "round", "order",
                "all  b / h / ratio", "2nd half b / h / ratio", "no JIT b / h / ratio", "b idle-adj.", "JIT % b/h", "wall s b/h", "machine %"));
        double[] sums = new double[7];
        for (Round r : results) {
            BundleRun b = r.bundle();
            HandRun h = r.fanOut();
            double[] row = {
                    b.windowCpuMs() / mailboxes,
                    (h.cpuMs() - r.startup().cpuMs()) / mailboxes,
                    b.secondHalfCpuMs() / secondHalf,
                    h.secondHalfCpuMs() / secondHalf,
                    (b.windowCpuMs() - b.kindMs("jit")) / mailboxes,
                    ((h.cpuMs() - h.kindMs("jit")) - (r.startup().cpuMs() - r.startup().kindMs("jit"))) / mailboxes,
                    (b.windowCpuMs() - b.idleCpuMsPerSecond() * b.windowWallMs() / 1000.0) / mailboxes};
            for (int i = 0; i < row.length; i++) {
                sums[i] += row[i];
            }
            out.append(String.format("  %-5d %-12s | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f %5.2fx | %3.0f / %3.0f | %4.1f / %4.1f | %3.0f / %3.0f%n",
                    r.round(), r.order(), row[0], row[1], row[0] / row[1], row[2], row[3], row[2] / row[3], row[4], row[5], row[4] / row[5],
                    row[6], row[6] / row[1], b.share("jit"), h.share("jit"), b.windowWallMs() / 1000.0, h.wallMs() / 1000.0,
                    b.machineBusy(), h.machineBusy()));
        }
        int n = results.size();
        out.append(String.format("  %-18s | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f %5.2fx |%n", "mean",
                sums[0] / n, sums[1] / n, sums[0] / sums[1], sums[2] / n, sums[3] / n, sums[2] / sums[3], sums[4] / n, sums[5] / n,
                sums[4] / sums[5], sums[6] / n, sums[6] / sums[1]));
        for (Round r : results) {
            BundleRun b = r.bundle();
            HandRun h = r.fanOut();
            out.append(String.format("  round %d: bundle: start-up %.0f ms CPU, %.1f s to healthy; fan-out %.0f ms CPU (JIT %.0f, GC %.0f, VM thread %.0f,"
                            + " kernel %.0f), 2nd half %.0f ms (JIT %.0f); idle %.1f ms CPU/s%n",
                    r.round(), b.startupCpuMs(), b.startupWallMs() / 1000.0, b.windowCpuMs(), b.kindMs("jit"), b.kindMs("gc"), b.kindMs("vm"),
                    b.windowKernelMs(), b.secondHalfCpuMs(), b.secondHalfJitMs(), b.idleCpuMsPerSecond()));
            out.append(String.format("           hand-written: N = 0 %.0f ms CPU (JIT %.0f, kernel %.0f) in %.1f s; N = %d %.0f ms CPU (JIT %.0f, GC %.0f,"
                            + " kernel %.0f) in %.1f s, 2nd half %.0f ms (JIT %.0f)%n",
                    r.startup().cpuMs(), r.startup().kindMs("jit"), r.startup().kernelMs, r.startup().wallMs() / 1000.0, mailboxes, h.cpuMs(),
                    h.kindMs("jit"), h.kindMs("gc"), h.kernelMs, h.wallMs() / 1000.0, h.secondHalfCpuMs(), h.secondHalfJitMs()));
        }
        if (durable) {
            printDurable(out, results);
        }
        out.append("  JIT %: CPU of the C1/C2 compiler threads, share of the process's CPU in the 'all' window (threads read every\n"
                + "         200 ms on both sides, so those that end in the window count too).\n"
                + "  wall s: the bundle's window; the hand-written program's whole run, JVM start included.\n"
                + "  machine %: how busy both cores were meanwhile (the measured process, this JVM's broker and stand-in, anything else).\n");
        System.out.print(out);
        if (jfr) {
            for (Round r : results) {
                System.out.print(FanOutProfile.summary("the bundle's fan-out", r.bundle().recording(), 15));
                System.out.print(FanOutProfile.summary("the hand-written program's whole run", r.fanOut().recording, 15));
            }
        }
    }

    /** The bundle against DurableHandWrittenFanOut (d), the same columns; h / d: what the durability costs by hand. */
    void printDurable(StringBuilder out, List<Round> results) {
        int secondHalf = mailboxes - mailboxes / 2;
        out.append("  Against the hand-written program with the bundle's durability (d, DurableHandWrittenFanOut: the work queued, claimed\n"
                + "  and done in the ledger, the events through an outbox), CPU ms per granted mailbox, same columns; h / d: the plain\n"
                + "  program's cost as a share of the durable one's:\n");
        out.append(String.format("  %-5s %-12s | %-21s | %-21s | %-21s | %-6s | %-7s | %-7s%n", "round", "order",
                "all  b / d / ratio", "2nd half b / d / ratio", "no JIT b / d / ratio", "h / d", "JIT % d", "wall s d"));
        double[] sums = new double[7];
        for (Round r : results) {
            BundleRun b = r.bundle();
            HandRun d = r.durableFanOut();
            HandRun d0 = r.durableStartup();
            double[] row = {
                    b.windowCpuMs() / mailboxes,
                    (d.cpuMs() - d0.cpuMs()) / mailboxes,
                    b.secondHalfCpuMs() / secondHalf,
                    d.secondHalfCpuMs() / secondHalf,
                    (b.windowCpuMs() - b.kindMs("jit")) / mailboxes,
                    ((d.cpuMs() - d.kindMs("jit")) - (d0.cpuMs() - d0.kindMs("jit"))) / mailboxes,
                    (r.fanOut().cpuMs() - r.startup().cpuMs()) / mailboxes};
            for (int i = 0; i < row.length; i++) {
                sums[i] += row[i];
            }
            out.append(String.format("  %-5d %-12s | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f  | %3.0f     | %4.1f%n",
                    r.round(), r.order(), row[0], row[1], row[0] / row[1], row[2], row[3], row[2] / row[3], row[4], row[5], row[4] / row[5],
                    row[6] / row[1], d.share("jit"), d.wallMs() / 1000.0));
        }
        int n = results.size();
        out.append(String.format("  %-18s | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f %5.2f %5.2fx | %5.2f  |%n", "mean",
                sums[0] / n, sums[1] / n, sums[0] / sums[1], sums[2] / n, sums[3] / n, sums[2] / sums[3], sums[4] / n, sums[5] / n,
                sums[4] / sums[5], sums[6] / sums[1]));
        for (Round r : results) {
            HandRun d = r.durableFanOut();
            out.append(String.format("  round %d: durable hand-written: N = 0 %.0f ms CPU in %.1f s; N = %d %.0f ms CPU (JIT %.0f, GC %.0f, kernel %.0f)"
                            + " in %.1f s, 2nd half %.0f ms (JIT %.0f)%n",
                    r.round(), r.durableStartup().cpuMs(), r.durableStartup().wallMs() / 1000.0, mailboxes, d.cpuMs(), d.kindMs("jit"),
                    d.kindMs("gc"), d.kernelMs, d.wallMs() / 1000.0, d.secondHalfCpuMs(), d.secondHalfJitMs()));
        }
    }

    // ---------------------------------------------------------------- measurements

    record Round(int round, String order, BundleRun bundle, HandRun startup, HandRun fanOut, HandRun durableStartup, HandRun durableFanOut) {
    }

    final class BundleRun {
        final long startupWallMs;
        final double startupCpuMs;
        final Snapshot start;
        final Snapshot half;
        final Snapshot end;
        final Snapshot idleStart;
        final Snapshot idleEnd;
        final Path recording;

        BundleRun(long startupWallMs, double startupCpuMs, Snapshot start, Snapshot half, Snapshot end, Snapshot idleStart, Snapshot idleEnd,
                  Path recording) {
            this.startupWallMs = startupWallMs;
            this.startupCpuMs = startupCpuMs;
            this.start = start;
            this.half = half;
            this.end = end;
            this.idleStart = idleStart;
            this.idleEnd = idleEnd;
            this.recording = recording;
        }

        long startupWallMs() {
            return startupWallMs;
        }

        double startupCpuMs() {
            return startupCpuMs;
        }

        Path recording() {
            return recording;
        }

        double windowCpuMs() {
            return ticksToMs(end.processTicks() - start.processTicks());
        }

        double windowWallMs() {
            return (end.nanos() - start.nanos()) / 1e6;
        }

        double windowKernelMs() {
            return ticksToMs(end.kernelTicks() - start.kernelTicks());
        }

        /** From the N/2-th grant.created to the N-th: most of the JIT's work is done by then. */
        double secondHalfCpuMs() {
            return ticksToMs(end.processTicks() - half.processTicks());
        }

        double secondHalfJitMs() {
            return ticksToMs(byKind(half.threads(), end.threads()).getOrDefault("jit", 0L));
        }

        double idleCpuMsPerSecond() {
            return ticksToMs(idleEnd.processTicks() - idleStart.processTicks()) / ((idleEnd.nanos() - idleStart.nanos()) / 1e9);
        }

        double kindMs(String kind) {
            return ticksToMs(byKind(start.threads(), end.threads()).getOrDefault(kind, 0L));
        }

        double share(String kind) {
            return 100.0 * kindMs(kind) / windowCpuMs();
        }

        double machineBusy() {
            return busyShare(start.machine(), end.machine());
        }
    }

    final class HandRun {
        final long wallMs;
        final double cpuMs;
        final Map<String, Long> byKind;
        final double machineBusy;
        final Snapshot half;
        final Snapshot end;
        final double kernelMs;
        final Path recording;

        HandRun(long wallMs, double cpuMs, double kernelMs, Map<String, Long> byKind, double machineBusy, Snapshot half, Snapshot end,
                Path recording) {
            this.wallMs = wallMs;
            this.cpuMs = cpuMs;
            this.kernelMs = kernelMs;
            this.recording = recording;
            this.byKind = byKind;
            this.machineBusy = machineBusy;
            this.half = half;
            this.end = end;
        }

        /** From the N/2-th grant.created to the N-th, as for the bundle. */
        double secondHalfCpuMs() {
            return ticksToMs(end.processTicks() - half.processTicks());
        }

        double secondHalfJitMs() {
            return ticksToMs(byKind(half.threads(), end.threads()).getOrDefault("jit", 0L));
        }

        long wallMs() {
            return wallMs;
        }

        double cpuMs() {
            return cpuMs;
        }

        double kindMs(String kind) {
            return ticksToMs(byKind.getOrDefault(kind, 0L));
        }

        /** Of the CPU the per-thread samples saw (they miss up to the last 200 ms of each thread). */
        double share(String kind) {
            long seen = byKind.values().stream().mapToLong(Long::longValue).sum();
            return seen == 0 ? 0 : 100.0 * byKind.getOrDefault(kind, 0L) / seen;
        }

        double machineBusy() {
            return machineBusy;
        }
    }

    /** A process's CPU (all its threads, living and dead), per living thread, and the machine's, at one moment. */
    record Snapshot(long nanos, long processTicks, long kernelTicks, Map<Long, ThreadTicks> threads, long[] machine) {
        static Snapshot of(long pid) {
            return new Snapshot(System.nanoTime(), GrantCostBenchmark.processTicks(pid), GrantCostBenchmark.kernelTicks(pid), threadTicks(pid),
                    machineTicks());
        }

        /**
         * This reading with the last reading of every thread seen before it that has ended since, so that
         * per-thread shares ({@link #byKind}) count the work of threads that did not live to the end.
         */
        Snapshot withThreadsSeen(Map<Long, ThreadTicks> seen) {
            Map<Long, ThreadTicks> all = new HashMap<>(seen);
            all.putAll(threads);
            return new Snapshot(nanos, processTicks, kernelTicks, all, machine);
        }
    }

    record ThreadTicks(String name, long ticks) {
    }

    /** JIT compiler threads, GC threads, the VM thread, and all others (the program's own, Kafka's, H2's ...). */
    static String kind(String threadName) {
        if (threadName.startsWith("C1 CompilerThre") || threadName.startsWith("C2 CompilerThre")) {
            return "jit";
        }
        if (threadName.startsWith("GC Thread") || threadName.startsWith("G1 ")) {
            return "gc";
        }
        return threadName.equals("VM Thread") ? "vm" : "other";
    }

    static Map<String, Long> byKind(Map<Long, ThreadTicks> before, Map<Long, ThreadTicks> after) {
        Map<String, Long> kinds = new HashMap<>();
        after.forEach((tid, now) -> {
            ThreadTicks then = before.get(tid);
            kinds.merge(kind(now.name()), now.ticks() - (then == null ? 0 : then.ticks()), Long::sum);
        });
        return kinds;
    }

    /** Samples a process's threads until it ends, keeping each thread's last reading. */
    static final class ThreadSampler {
        final Map<Long, ThreadTicks> last = new ConcurrentHashMap<>();
        final long pid;
        final Thread thread;
        volatile boolean running = true;

        ThreadSampler(long pid) {
            this.pid = pid;
            thread = new Thread(() -> {
                while (running) {
                    last.putAll(threadTicks(pid));
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "thread-sampler-" + pid);
            thread.setDaemon(true);
            thread.start();
        }

        /** A reading of the process now, with the last reading of each thread seen since that has ended. */
        Snapshot snapshot() {
            return Snapshot.of(pid).withThreadsSeen(Map.copyOf(last));
        }

        Map<String, Long> stop() throws InterruptedException {
            running = false;
            thread.interrupt();
            thread.join();
            return byKind(Map.of(), last);
        }
    }

    static long processTicks(long pid) {
        String[] fields = statFields(Path.of("/proc", String.valueOf(pid), "stat"));
        return fields == null ? 0 : Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }

    /** The part of it spent in the kernel (stime): system calls for sockets and files, page faults. */
    static long kernelTicks(long pid) {
        String[] fields = statFields(Path.of("/proc", String.valueOf(pid), "stat"));
        return fields == null ? 0 : Long.parseLong(fields[12]);
    }

    /** CPU of this JVM's children that have ended and been reaped (cutime + cstime). */
    static long childrenTicks() {
        String[] fields = statFields(Path.of("/proc", "self", "stat"));
        return Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
    }

    static long childrenKernelTicks() {
        return Long.parseLong(statFields(Path.of("/proc", "self", "stat"))[14]);
    }

    static Map<Long, ThreadTicks> threadTicks(long pid) {
        Map<Long, ThreadTicks> threads = new HashMap<>();
        try (var tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
            tasks.forEach(task -> {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    threads.put(Long.parseLong(task.getFileName().toString()),
                            new ThreadTicks(name, Long.parseLong(fields[11]) + Long.parseLong(fields[12])));
                } catch (IOException | RuntimeException gone) {
                    // the thread ended meanwhile
                }
            });
        } catch (IOException | RuntimeException gone) {
            // the process ended meanwhile
        }
        return threads;
    }

    /** Fields of a /proc stat line after the command name: [0] is field 3 (state), [11] utime, [12] stime. */
    static String[] statFields(Path stat) {
        try {
            String line = Files.readString(stat);
            return line.substring(line.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException e) {
            return null;
        }
    }

    /** The machine's busy and total ticks, all cores (/proc/stat). */
    static long[] machineTicks() {
        try {
            String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < cpu.length && i <= 8; i++) {
                total += Long.parseLong(cpu[i]);
            }
            long idle = Long.parseLong(cpu[4]) + Long.parseLong(cpu[5]);
            return new long[] {total - idle, total};
        } catch (IOException e) {
            return new long[] {0, 1};
        }
    }

    static double busyShare(long[] before, long[] after) {
        long total = after[1] - before[1];
        return total == 0 ? 0 : 100.0 * (after[0] - before[0]) / total;
    }

    double ticksToMs(long ticks) {
        return ticks * 1000.0 / clockTicksPerSecond;
    }

    // ---------------------------------------------------------------- Kafka and the stand-in

    /** Counts the events of a topic by type, parsing each record once; can take a snapshot the moment a count is reached. */
    static final class EventCounter implements AutoCloseable {
        final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
        final Thread thread;
        volatile boolean running = true;
        final List<Watch> watches = new CopyOnWriteArrayList<>();

        record Watch(String type, int count, Supplier<Snapshot> take, CompletableFuture<Snapshot> reached) {
        }

        EventCounter(String bootstrap, String topic) {
            KafkaConsumer<String, String> consumer = TopicReader.fromTheStart(bootstrap, topic, "grant-cost");
            thread = new Thread(() -> {
                try (consumer) {
                    while (running) {
                        consumer.poll(Duration.ofMillis(20)).forEach(record -> {
                            String type;
                            try {
                                type = JSON.readTree(record.value()).path("type").asText();
                            } catch (Exception notJson) {
                                type = "(not JSON)";
                            }
                            int count = counts.computeIfAbsent(type, t -> new AtomicInteger()).incrementAndGet();
                            for (Watch watch : watches) {
                                if (watch.type().equals(type) && watch.count() == count) {
                                    watch.reached().complete(watch.take().get());
                                }
                            }
                        });
                    }
                }
            }, "grant-cost-reader-" + topic);
            thread.setDaemon(true);
            thread.start();
        }

        /** Completes with a snapshot taken by this reader the moment the count-th event of the type is read. */
        CompletableFuture<Snapshot> when(String type, int count, Supplier<Snapshot> take) {
            Watch watch = new Watch(type, count, take, new CompletableFuture<>());
            watches.add(watch);
            return watch.reached();
        }

        int count(String type) {
            AtomicInteger count = counts.get(type);
            return count == null ? 0 : count.get();
        }

        void awaitCount(String type, int count, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (count(type) < count && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5000);
        }
    }

    KafkaProducer<String, String> producer() {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
    }

    /** With the cluster's default partitions, as the bundle's TopicSetup makes its results topic. */
    String createTopic(String name) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(List.of(new NewTopic(name, Optional.empty(), Optional.empty()))).all().get(30, TimeUnit.SECONDS);
        }
        return name;
    }

    /** An admin-consent credential for the hand-written program's grants (the bundle makes its own per tenant). */
    String credential(NylasStandIn nylas) throws Exception {
        HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(nylas.baseUri() + "/v3/connectors/microsoft/creds"))
                .header("Authorization", "Bearer " + BridgeUnderTest.API_KEY)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"hand-written bench\",\"credential_type\":\"adminconsent\","
                        + "\"credential_data\":{\"tenant\":\"bench.onmicrosoft.com\"}}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return JSON.readTree(created.body()).path("data").path("id").asText();
    }

    // ---------------------------------------------------------------- plumbing

    static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    static String javaBin(String tool) {
        return Path.of(System.getProperty("java.home"), "bin", tool).toString();
    }

    static void deleteQuietly(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder
        }
    }

    // ---------------------------------------------------------------- where the bundle's CPU goes

    /** Summarises a JFR recording's execution samples: by top frame, by kind of work, by first bundle or Camel frame, by thread. */
    static final class FanOutProfile {
        /** Package prefixes, most specific first: a sample is of the first kind found walking its stack from the top. */
        static final Map<String, String> KINDS = new LinkedHashMap<>();

        static {
            KINDS.put("org.apache.camel.impl.converter", "Camel type conversion");
            KINDS.put("org.apache.camel.converter", "Camel type conversion");
            KINDS.put("org.apache.camel.support.TypeConverter", "Camel type conversion");
            KINDS.put("org.apache.camel.component.bean", "Camel bean invocation");
            KINDS.put("org.apache.camel.language.bean", "Camel bean invocation");
            KINDS.put("org.apache.camel.language.simple", "Camel simple language");
            KINDS.put("org.apache.camel.component.kafka", "Camel Kafka component");
            KINDS.put("org.apache.camel.component.http", "HTTP client (Camel http + Apache HC)");
            KINDS.put("org.apache.hc", "HTTP client (Camel http + Apache HC)");
            KINDS.put("org.apache.camel.component.platform.http", "HTTP server (platform-http, Vert.x)");
            KINDS.put("io.vertx", "HTTP server (platform-http, Vert.x)");
            KINDS.put("io.netty", "HTTP server (platform-http, Vert.x)");
            KINDS.put("org.apache.camel.component.micrometer", "metrics");
            KINDS.put("io.micrometer", "metrics");
            KINDS.put("org.apache.camel.component.jackson", "JSON");
            KINDS.put("com.fasterxml.jackson", "JSON");
            KINDS.put("io.cloudevents", "JSON");
            KINDS.put("com.networknt", "JSON");
            KINDS.put("org.apache.logging", "logging");
            KINDS.put("org.slf4j", "logging");
            KINDS.put("org.apache.kafka", "Kafka client");
            KINDS.put("org.h2", "JDBC / H2");
            KINDS.put("com.zaxxer.hikari", "JDBC / H2");
            KINDS.put("io.consentbridge", "bundle code");
            KINDS.put("org.apache.camel", "Camel core (routing, processors, other)");
            KINDS.put("java.lang.reflect", "reflection");
            KINDS.put("jdk.internal.reflect", "reflection");
            KINDS.put("java.lang.invoke", "reflection");
        }

        /** The JDK's "profile" settings, with every JIT compilation recorded (not only those over 100 ms). */
        static synchronized Path settings() throws IOException {
            Path settings = Path.of("/tmp", "grant-cost-profile.jfc");
            String profile = Files.readString(Path.of(System.getProperty("java.home"), "lib", "jfr", "profile.jfc"));
            Files.writeString(settings, profile.replace("control=\"compiler-compilation-threshold\">100 ms<",
                    "control=\"compiler-compilation-threshold\">0 ms<"));
            return settings;
        }

        static String summary(String what, Path recording, int top) throws IOException {
            List<RecordedEvent> events = RecordingFile.readAllEvents(recording);
            List<RecordedEvent> samples = events.stream()
                    .filter(e -> e.getEventType().getName().equals("jdk.ExecutionSample") && e.getStackTrace() != null).toList();
            List<RecordedEvent> compilations = events.stream().filter(e -> e.getEventType().getName().equals("jdk.Compilation")).toList();
            StringBuilder out = new StringBuilder(String.format("%nJFR profile of %s (%s): %d execution samples"
                    + " (threads running Java code only; JIT, GC and kernel time are in the table above)%n", what, recording, samples.size()));
            out.append(table("by kind of work (first frame from the top in a known package)", samples, FanOutProfile::kindOf, top));
            out.append(table("by top frame", samples, e -> frameName(e.getStackTrace().getFrames().get(0)), top));
            out.append(table("by first io.consentbridge / org.apache.camel frame", samples, FanOutProfile::firstOwnFrame, top));
            out.append(table("by thread", samples, e -> e.getThread("sampledThread") == null ? "?"
                    : e.getThread("sampledThread").getJavaName().replaceAll("\\d+", "#"), top));
            out.append(compilations(compilations, top));
            return out.toString();
        }

        /** Where the JIT compilers spent their time: compilation time by the compiled method's package, and by tier. */
        static String compilations(List<RecordedEvent> compilations, int top) {
            double totalMs = compilations.stream().mapToDouble(e -> e.getDuration().toNanos() / 1e6).sum();
            StringBuilder out = new StringBuilder(String.format("  JIT compilations: %d, %.0f ms compiling (C1 tiers 1-3: %d, %.0f ms; C2 tier 4: %d, %.0f ms);"
                            + " compile time by the compiled method's kind:%n", compilations.size(), totalMs,
                    compilations.stream().filter(e -> e.getShort("compileLevel") < 4).count(),
                    compilations.stream().filter(e -> e.getShort("compileLevel") < 4).mapToDouble(e -> e.getDuration().toNanos() / 1e6).sum(),
                    compilations.stream().filter(e -> e.getShort("compileLevel") == 4).count(),
                    compilations.stream().filter(e -> e.getShort("compileLevel") == 4).mapToDouble(e -> e.getDuration().toNanos() / 1e6).sum()));
            Map<String, double[]> byKind = new HashMap<>();
            for (RecordedEvent compilation : compilations) {
                String type = compilation.getValue("method") == null ? "?" : ((jdk.jfr.consumer.RecordedMethod) compilation.getValue("method")).getType().getName();
                double[] kind = byKind.computeIfAbsent(kindOfType(type), k -> new double[2]);
                kind[0]++;
                kind[1] += compilation.getDuration().toNanos() / 1e6;
            }
            byKind.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[1], a.getValue()[1])).limit(top)
                    .forEach(e -> out.append(String.format("    %5.1f%%  %6.0f ms  %5.0f methods  %s%n", 100 * e.getValue()[1] / totalMs,
                            e.getValue()[1], e.getValue()[0], e.getKey())));
            return out.toString();
        }

        static String kindOfType(String type) {
            for (Map.Entry<String, String> kind : KINDS.entrySet()) {
                if (type.startsWith(kind.getKey())) {
                    return kind.getValue();
                }
            }
            return type.startsWith("java.") || type.startsWith("jdk.") || type.startsWith("sun.") || type.startsWith("com.sun.")
                    ? "JDK" : "other libraries";
        }

        static String kindOf(RecordedEvent sample) {
            for (RecordedFrame frame : sample.getStackTrace().getFrames()) {
                String type = frame.getMethod().getType().getName();
                for (Map.Entry<String, String> kind : KINDS.entrySet()) {
                    if (type.startsWith(kind.getKey())) {
                        return kind.getValue();
                    }
                }
            }
            return "JDK only (no other frame)";
        }

        static String firstOwnFrame(RecordedEvent sample) {
            return sample.getStackTrace().getFrames().stream()
                    .filter(f -> f.getMethod().getType().getName().startsWith("io.consentbridge")
                            || f.getMethod().getType().getName().startsWith("org.apache.camel"))
                    .findFirst().map(FanOutProfile::frameName).orElse("(none: " + kindOf(sample) + ")");
        }

        static String frameName(RecordedFrame frame) {
            return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
        }

        static String table(String title, List<RecordedEvent> samples, Function<RecordedEvent, String> key, int top) {
            Map<String, Long> counts = samples.stream().collect(Collectors.groupingBy(key, Collectors.counting()));
            StringBuilder out = new StringBuilder("  " + title + ":\n");
            counts.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(top)
                    .forEach(e -> out.append(String.format("    %5.1f%%  %5d  %s%n", 100.0 * e.getValue() / samples.size(), e.getValue(), e.getKey())));
            return out.toString();
        }
    }
}
