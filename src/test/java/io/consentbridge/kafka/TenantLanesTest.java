package io.consentbridge.kafka;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Records of different tenants are worked on at once, a tenant's own one after another in the order
 * handed over, a record read twice only after its first run; a failure left unhandled is tried
 * again; the consumer waits only while every place is taken.
 */
class TenantLanesTest {
    CamelContext context;
    TenantLanes lanes;
    /** Per body, a latch the route waits on before it ends (none: it ends at once). */
    final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();
    final List<String> started = new CopyOnWriteArrayList<>();
    final List<String> ended = new CopyOnWriteArrayList<>();
    final Map<String, AtomicInteger> failuresLeft = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws Exception {
        context = new DefaultCamelContext();
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from("direct:work").process(exchange -> {
                    String body = exchange.getIn().getBody(String.class);
                    started.add(body);
                    AtomicInteger failures = failuresLeft.get(body);
                    if (failures != null && failures.getAndDecrement() > 0) {
                        throw new IllegalStateException("the ledger is away");
                    }
                    CountDownLatch hold = holds.get(body);
                    if (hold != null) {
                        assertThat(hold.await(30, TimeUnit.SECONDS)).isTrue();
                    }
                    ended.add(body);
                });
            }
        });
        context.start();
        lanes = new TenantLanes(context, "direct:work", 2, Duration.ofMillis(50));
        context.addService(lanes, true, false);
    }

    @AfterEach
    void stop() {
        holds.values().forEach(CountDownLatch::countDown);
        context.stop();
    }

    Exchange record(String key, long offset, String body) {
        Exchange record = new DefaultExchange(context);
        if (key != null) {
            record.getIn().setHeader(KafkaConstants.KEY, key);
        }
        record.getIn().setHeader(KafkaConstants.TOPIC, "t");
        record.getIn().setHeader(KafkaConstants.PARTITION, 0);
        record.getIn().setHeader(KafkaConstants.OFFSET, offset);
        record.getIn().setBody(body);
        return record;
    }

    @Test
    void anotherTenantGoesOnWhileOneIsHeldAndATenantsOwnRecordsKeepTheirOrder() throws Exception {
        holds.put("a1", new CountDownLatch(1));
        holds.put("b1", new CountDownLatch(1));
        lanes.dispatch(record("a", 0, "a1"));
        lanes.dispatch(record("b", 1, "b1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> started.containsAll(List.of("a1", "b1")));
        holds.get("b1").countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> ended.contains("b1"));
        assertThat(ended).doesNotContain("a1");
        // a's second record waits for its first.
        lanes.dispatch(record("a", 2, "a2"));
        Thread.sleep(200);
        assertThat(started).doesNotContain("a2");
        holds.get("a1").countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> ended.contains("a2"));
        assertThat(ended).containsExactly("b1", "a1", "a2");
        await().atMost(Duration.ofSeconds(10)).until(() -> lanes.inProgress() == 0);
    }

    @Test
    void aTenantsWaitingRecordsHoldNoWorkerAndTheConsumerWaitsOnlyWithEveryPlaceTaken() throws Exception {
        // Two workers, eight places: a's first record held, three more of a's waiting behind it.
        holds.put("a0", new CountDownLatch(1));
        for (int i = 0; i < 4; i++) {
            lanes.dispatch(record("a", i, "a" + i));
        }
        // b still gets the other worker.
        lanes.dispatch(record("b", 4, "b0"));
        await().atMost(Duration.ofSeconds(10)).until(() -> ended.contains("b0"));
        assertThat(started).doesNotContain("a1", "a2", "a3");
        // Three more held tenants: one runs, two wait for a worker; all eight places are taken.
        for (String tenant : List.of("c", "d", "e")) {
            holds.put(tenant + "0", new CountDownLatch(1));
        }
        for (String tenant : List.of("c", "d", "e")) {
            lanes.dispatch(record(tenant, 5, tenant + "0"));
        }
        holds.put("f0", new CountDownLatch(1));
        lanes.dispatch(record("f", 8, "f0"));
        Future<?> ninth = Executors.newSingleThreadExecutor().submit(() -> {
            lanes.dispatch(record("g", 9, "g0"));
            return null;
        });
        Thread.sleep(300);
        assertThat(ninth).as("no place left: the consumer waits").isNotDone();
        holds.get("a0").countDown();
        ninth.get(10, TimeUnit.SECONDS);
        holds.values().forEach(CountDownLatch::countDown);
        await().atMost(Duration.ofSeconds(10)).until(() -> ended.contains("g0") && ended.contains("a3"));
        assertThat(ended.stream().filter(b -> b.startsWith("a"))).containsExactly("a0", "a1", "a2", "a3");
        await().atMost(Duration.ofSeconds(10)).until(() -> lanes.inProgress() == 0);
    }

    @Test
    void aRecordReadAgainWhileItsFirstRunGoesOnWaitsForIt() throws Exception {
        holds.put("x", new CountDownLatch(1));
        lanes.dispatch(record(null, 7, "x"));
        lanes.dispatch(record(null, 8, "y"));
        await().atMost(Duration.ofSeconds(10)).until(() -> ended.contains("y"));
        lanes.dispatch(record(null, 7, "x"));
        Thread.sleep(200);
        assertThat(started.stream().filter("x"::equals)).as("the second read of offset 7 waits for the first").hasSize(1);
        holds.get("x").countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> ended.stream().filter("x"::equals).count() == 2);
    }

    @Test
    void aFailureLeftUnhandledIsTriedAgain() throws Exception {
        failuresLeft.put("a1", new AtomicInteger(3));
        lanes.dispatch(record("a", 0, "a1"));
        lanes.dispatch(record("a", 1, "a2"));
        await().atMost(Duration.ofSeconds(10)).until(() -> ended.contains("a2"));
        assertThat(started.stream().filter("a1"::equals)).hasSize(4);
        assertThat(ended).containsExactly("a1", "a2");
    }
}
