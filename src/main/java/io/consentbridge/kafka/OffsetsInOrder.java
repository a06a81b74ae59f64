package io.consentbridge.kafka;

import org.apache.camel.component.kafka.consumer.CommitManager;
import org.apache.camel.component.kafka.consumer.KafkaManualCommit;
import org.apache.camel.component.kafka.consumer.KafkaManualCommitFactory;
import org.apache.camel.component.kafka.consumer.errorhandler.KafkaConsumerListener;
import org.apache.camel.component.kafka.consumer.support.ProcessingResult;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Commits a partition's offsets in order when its records finish out of order: records of one
 * partition are worked on concurrently (different tenants), and the committed offset moves only
 * past records that are done, so a crash reads again every record not yet done and none is skipped.
 *
 * <p>Three roles, one bean ({@code onboardingOffsets}):
 * <ul>
 *   <li>the endpoint's {@code kafkaManualCommitFactory}: each record gets a {@link KafkaManualCommit}
 *       whose {@code commit()} marks that record done (called when its work is done or answered,
 *       see {@link KafkaOffsets}). Not being camel-kafka's own factory, it also stops camel-kafka from
 *       committing on its own (its per-poll and on-revoke commits assume records finish in order);</li>
 *   <li>the consumer's listener (the {@code pausable} step): after every poll, on the consumer's
 *       own thread (a Kafka consumer is single-threaded), it commits what became committable;</li>
 *   <li>that listener's check, which never pauses.</li>
 * </ul>
 */
public class OffsetsInOrder extends KafkaConsumerListener implements KafkaManualCommitFactory, Predicate<Object> {
    private static final Logger LOG = LoggerFactory.getLogger(OffsetsInOrder.class);

    private final Map<TopicPartition, PartitionOffsets> partitions = new ConcurrentHashMap<>();

    @Override
    public KafkaManualCommit newInstance(CamelExchangePayload exchange, KafkaRecordPayload record, CommitManager commitManager) {
        PartitionOffsets offsets = partitions.computeIfAbsent(record.partition, p -> new PartitionOffsets());
        long offset = record.recordOffset;
        offsets.read(offset);
        return new Pending(offsets, offset);
    }

    /** A record read: {@code commit()} when its work is done; {@code abandon()} when it will not be done here (the bridge stops). */
    public static final class Pending implements KafkaManualCommit {
        private final PartitionOffsets offsets;
        private final long offset;

        Pending(PartitionOffsets offsets, long offset) {
            this.offsets = offsets;
            this.offset = offset;
        }

        @Override
        public void commit() {
            offsets.done(offset);
        }

        /** Not done and not to be waited for: the commit stays before it, and a hand-over does not wait for it. */
        public void abandon() {
            offsets.abandon(offset);
        }
    }

    /** After each poll, on the consumer's thread: commits, per partition it holds, up to the first record not done. */
    @Override
    public boolean afterConsume(Object polled) {
        if (!(polled instanceof Consumer<?, ?> consumer)) {
            return true;
        }
        Map<TopicPartition, OffsetAndMetadata> commits = toCommit(consumer.assignment());
        if (!commits.isEmpty()) {
            consumer.commitAsync(commits, (done, failure) -> {
                if (failure != null) {
                    // A rebalance took the partition away: its new holder reads from the last commit, and
                    // the ledger recognises the requests that were already done.
                    LOG.info("Offsets {} not committed ({}); the records after the last commit will be read again", commits, failure.getMessage());
                }
            });
        }
        return true;
    }

    /**
     * On the consumer's thread, when the group takes partitions away from it (an instance joins or
     * leaves, the consumer stops): waits, at most {@code patience}, for the work on the records it read
     * from them, then commits what is done, so the next holder does not work on the same records at
     * the same time. Work still unfinished then is read again by the next holder (the ledger tells
     * which request was already done; the one in flight may be done twice, as after a crash).
     */
    public void handOver(Consumer<?, ?> consumer, Collection<TopicPartition> revoked, Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        for (TopicPartition partition : revoked) {
            PartitionOffsets offsets = partitions.get(partition);
            if (offsets != null && !offsets.awaitFinished(deadline)) {
                LOG.warn("Partition {} handed over with work still in progress: its unfinished records are read again by the next holder", partition);
            }
        }
        Map<TopicPartition, OffsetAndMetadata> commits = toCommit(revoked);
        revoked.forEach(partitions::remove);
        if (!commits.isEmpty()) {
            try {
                consumer.commitSync(commits, Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                LOG.info("Offsets {} not committed at hand-over ({}); the records after the last commit will be read again", commits, e.getMessage());
            }
        }
    }

    /** Per partition with progress since its last commit, the offset to commit now. */
    private Map<TopicPartition, OffsetAndMetadata> toCommit(Collection<TopicPartition> held) {
        Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
        for (TopicPartition partition : held) {
            PartitionOffsets offsets = partitions.get(partition);
            if (offsets != null) {
                offsets.toCommit().ifPresent(next -> commits.put(partition, new OffsetAndMetadata(next)));
            }
        }
        return commits;
    }

    /** Never pauses: a failed record is handled by the route (breakOnFirstError reads it again). */
    @Override
    public boolean afterProcess(ProcessingResult result) {
        return true;
    }

    @Override
    public boolean test(Object ignored) {
        return true;
    }

    /** The next offset to commit for the partition, as {@link #afterConsume} would (for tests). */
    OptionalLong committable(TopicPartition partition) {
        PartitionOffsets offsets = partitions.get(partition);
        return offsets == null ? OptionalLong.empty() : offsets.peek();
    }

    /** The records of one partition read and not yet committed past, in offset order. */
    static final class PartitionOffsets {
        /** What became of a record read. */
        private enum State { READ, DONE, ABANDONED }

        /** Every record read and not yet passed by the committable offset. */
        private final TreeMap<Long, State> open = new TreeMap<>();
        /** One past the last record of the longest run of done records from the start; -1: none yet. */
        private long committable = -1;
        private long committed = -1;

        synchronized void read(long offset) {
            if (offset >= committable) {
                open.putIfAbsent(offset, State.READ);
            }
        }

        synchronized void done(long offset) {
            open.computeIfPresent(offset, (o, was) -> State.DONE);
            while (!open.isEmpty() && open.firstEntry().getValue() == State.DONE) {
                committable = Math.max(committable, open.pollFirstEntry().getKey() + 1);
            }
            notifyAll();
        }

        /** Not done here (the bridge stops): the commit stays before it, and nobody waits for it. */
        synchronized void abandon(long offset) {
            open.computeIfPresent(offset, (o, was) -> was == State.READ ? State.ABANDONED : was);
            notifyAll();
        }

        /** Whether every record read is done (or abandoned) by {@code deadline} (System.nanoTime). */
        synchronized boolean awaitFinished(long deadline) {
            while (open.containsValue(State.READ)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }

        /** The offset to commit now, once per advance; never one behind an earlier commit. */
        synchronized OptionalLong toCommit() {
            if (committable > committed) {
                committed = committable;
                return OptionalLong.of(committable);
            }
            return OptionalLong.empty();
        }

        synchronized OptionalLong peek() {
            return committable < 0 ? OptionalLong.empty() : OptionalLong.of(committable);
        }
    }
}
