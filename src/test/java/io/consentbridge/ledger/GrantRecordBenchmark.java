package io.consentbridge.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.consentbridge.consent.ConsentLink;
import io.consentbridge.consent.ConsentLinks;
import io.consentbridge.events.EventEnvelope;
import io.consentbridge.events.ResultEvents;
import io.consentbridge.grants.GrantWork;
import io.consentbridge.inbound.OnboardingRequest;
import io.consentbridge.shared.LocalPostgres;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The ledger's side of a grant's outcome alone: how fast the grant workers' group commit records
 * outcomes when nothing else waits (no Nylas, no Kafka), on PostgreSQL (a separate server process,
 * each statement a round trip) or H2. The bridge's shape: grants.consumers threads recording back to
 * back through {@link ConsentLedger#lingering} with its writers, group size and linger.
 *
 * <pre>mvn -q -o test -Pbenchmark -Dtest=GrantRecordBenchmark -Dsurefire.failIfNoSpecifiedTests=false</pre>
 * -Dbench.db=h2 for an H2 file instead of PostgreSQL, -Dbench.mailboxes=4000, -Dbench.rounds=3,
 * -Dbench.workers=32, -Dbench.writers=8 (1 on H2), -Dbench.linger-ms=150.
 */
class GrantRecordBenchmark {
    final ObjectMapper mapper = JsonMapper.builder().findAndAddModules().build();

    @Test
    void recordOutcomes() throws Exception {
        boolean h2 = "h2".equals(System.getProperty("bench.db"));
        int mailboxes = Integer.getInteger("bench.mailboxes", 4000);
        int rounds = Integer.getInteger("bench.rounds", 3);
        int workers = Integer.getInteger("bench.workers", 32);
        int writers = Integer.getInteger("bench.writers", h2 ? 1 : 8);
        Duration linger = Duration.ofMillis(Integer.getInteger("bench.linger-ms", 150));
        System.out.printf("%nGrant record benchmark: %s, %d outcomes a round, %d workers, %d writers, linger %d ms%n",
                h2 ? "H2 file" : "PostgreSQL", mailboxes, workers, writers, linger.toMillis());
        for (int round = 1; round <= rounds; round++) {
            String url;
            if (h2) {
                Path dir = Files.createTempDirectory("grant-record-bench");
                url = "jdbc:h2:file:" + dir.resolve("ledger");
            } else {
                url = LocalPostgres.shared().createDatabase("grant_record_bench_" + System.nanoTime());
            }
            try (HikariDataSource db = LedgerDatabase.open(url, h2 ? null : LocalPostgres.USER, null, 10)) {
                Clock clock = Clock.systemUTC();
                ResultEvents events = new ResultEvents(new EventEnvelope(mapper, clock), "results");
                List<GrantWork> work = queued(db, clock, events, mailboxes);
                ConsentLedger ledger = ConsentLedger.lingering(db, "grant-group-commit", writers, workers, linger, clock, events, mapper);
                ConcurrentLinkedQueue<GrantWork> left = new ConcurrentLinkedQueue<>(work);
                AtomicLong waited = new AtomicLong();
                long cpuBefore = processCpuNanos();
                long start = System.nanoTime();
                ExecutorService pool = Executors.newFixedThreadPool(workers);
                for (int w = 0; w < workers; w++) {
                    pool.execute(() -> {
                        GrantWork next;
                        while ((next = left.poll()) != null) {
                            JsonNode grant = mapper.createObjectNode().put("id", "grant-" + next.id()).put("grant_status", "valid");
                            long asked = System.nanoTime();
                            ledger.recordGrant(next, grant, "nylas-" + next.id());
                            waited.addAndGet(System.nanoTime() - asked);
                        }
                    });
                }
                pool.shutdown();
                pool.awaitTermination(10, TimeUnit.MINUTES);
                long took = System.nanoTime() - start;
                long cpu = processCpuNanos() - cpuBefore;
                ledger.close();
                System.out.printf("  round %d: %d outcomes in %.2f s, %.0f a second; each waited %.1f ms on average; this JVM's CPU %.3f ms an outcome%n",
                        round, work.size(), took / 1e9, work.size() / (took / 1e9), waited.get() / 1e6 / work.size(), cpu / 1e6 / work.size());
            }
        }
    }

    /** Tenants of 500 mailboxes each, consented, their grant work claimed. */
    private List<GrantWork> queued(HikariDataSource db, Clock clock, ResultEvents events, int mailboxes) {
        ConsentLedger ledger = new ConsentLedger(db, clock, events, mapper);
        ConsentLinks links = new ConsentLinks("https://api.us.nylas.com", "client", "https://bridge.example/cb", clock, Duration.ofDays(7));
        for (int t = 0; t * 500 < mailboxes; t++) {
            List<String> emails = new ArrayList<>();
            for (int m = t * 500; m < Math.min(mailboxes, (t + 1) * 500); m++) {
                emails.add("user" + m + "@tenant" + t + ".example");
            }
            OnboardingRequest request = new OnboardingRequest("req-" + t, "tenant-" + t, null, null, null, null, null, emails, List.of());
            ledger.admitOnboarding(request);
            ConsentLink link = links.issue("cred-" + t, null);
            ledger.storeLink(request, link);
            ledger.markLinkPublished(request);
            ledger.useState(link.state(), true, null, null);
        }
        new InstanceHeartbeat(db, clock, "bench", Duration.ofDays(1)).beat();
        return new GrantQueue(db, "bench", mailboxes).claim();
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
