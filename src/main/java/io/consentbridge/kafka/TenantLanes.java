package io.consentbridge.kafka;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;

/**
 * Works on a topic's records concurrently, one lane per tenant: records of different tenants run at
 * the same time (up to {@code concurrency} per instance), records of one tenant (the record key) one
 * after another, in the order read; a record read twice (the group moved its partition while it was
 * being worked on) is worked on again only after its first run, which the ledger then recognises. A tenant whose Nylas calls are being retried holds only its own
 * lane and one worker; the others go on. A record waiting in its tenant's lane holds no worker, only
 * one of the {@code 4 x concurrency} places that bound what the consumer reads ahead; the consumer
 * waits only while every place is taken (one tenant with that many requests in a row, the first
 * retrying, would still hold it up).
 *
 * <p>Each record is worked on by sending a fresh exchange (the record's body and headers) to
 * {@code endpoint}, whose route configuration commits the record when its work is done or answered
 * ({@link KafkaOffsets}, {@link OffsetsInOrder}). A failure left unhandled there (the ledger away)
 * is tried again after a pause, as the record would have been read again; a record still unfinished
 * when the bridge stops is not committed, and is read again at the next start.
 */
public class TenantLanes extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(TenantLanes.class);
    /** Records read and not done, per worker, before the consumer waits. */
    static final int READ_AHEAD = 4;

    private final CamelContext context;
    private final String endpoint;
    private final int concurrency;
    private final Duration pauseAfterFailure;
    private final Semaphore places;
    /** Per tenant, its last record's work: the next one of the tenant starts when it ends. */
    private final Map<String, CompletableFuture<Void>> lanes = new HashMap<>();
    private ExecutorService workers;
    private ProducerTemplate producer;

    public TenantLanes(CamelContext context, String endpoint, int concurrency, Duration pauseAfterFailure) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, was " + concurrency);
        }
        this.context = context;
        this.endpoint = endpoint;
        this.concurrency = concurrency;
        this.pauseAfterFailure = pauseAfterFailure;
        this.places = new Semaphore(READ_AHEAD * concurrency);
    }

    @Override
    protected void doStart() {
        workers = context.getExecutorServiceManager().newFixedThreadPool(this, "TenantLanes[" + endpoint + "]", concurrency);
        producer = context.createProducerTemplate();
    }

    @Override
    protected void doStop() throws Exception {
        if (producer != null) {
            producer.stop();
        }
        if (workers != null) {
            context.getExecutorServiceManager().shutdownGraceful(workers);
        }
    }

    /** On the consumer's thread: hands the record to its tenant's lane, waiting while every place is taken. */
    public void dispatch(Exchange record) throws InterruptedException {
        places.acquire();
        Exchange work = new DefaultExchange(context);
        work.getIn().copyFrom(record.getIn());
        String lane = laneOf(record);
        CompletableFuture<Void> mine;
        synchronized (lanes) {
            CompletableFuture<Void> before = lanes.get(lane);
            Runnable run = () -> workOn(work);
            mine = before == null ? CompletableFuture.runAsync(run, workers) : before.thenRunAsync(run, workers);
            lanes.put(lane, mine);
        }
        mine.whenComplete((done, failure) -> {
            places.release();
            synchronized (lanes) {
                lanes.remove(lane, mine);
            }
        });
    }

    /**
     * The record's key (the tenant). A record without one (the contract asks for the tenant as key)
     * gets a lane of its own, named by its place in the topic: read again while it is still being
     * worked on (the group moved its partition from one consumer to another), it waits for that work.
     */
    static String laneOf(Exchange record) {
        Object key = record.getIn().getHeader(KafkaConstants.KEY);
        if (key != null) {
            return "key:" + key;
        }
        return "record:" + record.getIn().getHeader(KafkaConstants.TOPIC) + "/" + record.getIn().getHeader(KafkaConstants.PARTITION)
                + "@" + record.getIn().getHeader(KafkaConstants.OFFSET);
    }

    /** Records dispatched and not yet done, waiting in a lane or being worked on. */
    public int inProgress() {
        return READ_AHEAD * concurrency - places.availablePermits();
    }

    private void workOn(Exchange record) {
        for (int attempt = 1; ; attempt++) {
            Exchange exchange = new DefaultExchange(context);
            exchange.getIn().copyFrom(record.getIn());
            try {
                producer.send(endpoint, exchange);
            } catch (RuntimeException e) {
                exchange.setException(e);
            }
            Exception failure = exchange.getException();
            if (failure == null) {
                return;
            }
            if (!isStarted() || !context.isStarted() || context.isStopping()) {
                LOG.warn("Record left unfinished as the bridge stops (it is read again at the next start): {}", failure.getClass().getSimpleName());
                if (record.getIn().getHeader(KafkaConstants.MANUAL_COMMIT) instanceof OffsetsInOrder.Pending pending) {
                    pending.abandon();
                }
                return;
            }
            if (attempt == 1 || attempt % 10 == 0) {
                // The class only: the route's error handler has logged the failure (a message could quote the record).
                LOG.warn("Record not finished (attempt {}), trying again in {} ms: {}", attempt, pauseAfterFailure.toMillis(), failure.getClass().getSimpleName());
            }
            try {
                Thread.sleep(pauseAfterFailure.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
