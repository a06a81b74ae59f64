package io.consentbridge.ledger;

import com.zaxxer.hikari.HikariDataSource;
import io.consentbridge.shared.LocalPostgres;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployment's call time line in PostgreSQL: instances reserving turns at the same moment never
 * get the same stretch of time.
 */
class SharedCallTimelineTest {
    @Test
    void instancesReservingAtOnceNeverShareATurn() throws Exception {
        LocalPostgres postgres = LocalPostgres.shared();
        String url = postgres.createDatabase("timeline_" + Long.toHexString(System.nanoTime()));
        try (HikariDataSource db = LedgerDatabase.open(url, LocalPostgres.USER, null, 8)) {
            // Three instances, each with several callers reserving at once.
            List<SharedCallTimeline> instances = List.of(new SharedCallTimeline(db), new SharedCallTimeline(db), new SharedCallTimeline(db));
            long spacingNanos = 1_000_000;           // 1 ms turns: short, so the reservations are many and close
            int turns = 5;
            ExecutorService callers = Executors.newFixedThreadPool(6);
            try {
                List<Future<List<long[]>>> results = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    SharedCallTimeline timeline = instances.get(i % 3);
                    results.add(callers.submit(() -> {
                        List<long[]> taken = new ArrayList<>();
                        for (int n = 0; n < 150; n++) {
                            SharedCallTimeline.Reservation r = timeline.take(turns, spacingNanos);
                            taken.add(new long[] {r.firstUs(), r.firstUs() + turns * spacingNanos / 1000});
                        }
                        return taken;
                    }));
                }
                List<long[]> all = new ArrayList<>();
                for (Future<List<long[]>> f : results) {
                    all.addAll(f.get());
                }
                all.sort((x, y) -> Long.compare(x[0], y[0]));
                assertThat(all).hasSize(900);
                for (int i = 1; i < all.size(); i++) {
                    assertThat(all.get(i)[0]).as("reservation %d starts after %d ends", i, i - 1).isGreaterThanOrEqualTo(all.get(i - 1)[1]);
                }
                // Back to back while the callers kept asking: the time line was not left with holes.
                long span = all.get(all.size() - 1)[1] - all.get(0)[0];
                System.out.printf("900 reservations of 5 ms by 6 callers in 3 instances: spanning %d ms%n", span / 1000);
            } finally {
                callers.shutdownNow();
            }
        }
    }
}
