package io.consentbridge.kafka;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.camel.component.kafka.consumer.KafkaManualCommit;
import org.apache.camel.component.kafka.consumer.KafkaManualCommitFactory;
import org.apache.kafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Records of a partition finishing in any order: the offset offered for commit is always one past
 * the longest run of finished records from the first read, so no unfinished record is ever passed
 * (a crash reads it again), and it never moves back.
 */
class OffsetsInOrderProperties {
    static final TopicPartition PARTITION = new TopicPartition("tenant-onboarding-requests", 0);

    /** A partition's records from a start offset, finished in a generated order, some marked done twice. */
    record Run(long start, int records, List<Integer> finishOrder, List<Integer> doneTwice) {
    }

    @Provide
    Arbitrary<Run> runs() {
        return Combinators.combine(Arbitraries.longs().between(0, 1L << 40), Arbitraries.integers().between(1, 300), Arbitraries.longs())
                .as((start, n, seed) -> {
                    List<Integer> order = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        order.add(i);
                    }
                    Random random = new Random(seed);
                    Collections.shuffle(order, random);
                    List<Integer> twice = new ArrayList<>();
                    for (int i = 0; i < n / 10; i++) {
                        twice.add(random.nextInt(n));
                    }
                    return new Run(start, n, order, twice);
                });
    }

    @Property(tries = 300)
    void theCommittedOffsetNeverPassesAnUnfinishedRecord(@ForAll("runs") Run run) {
        OffsetsInOrder offsets = new OffsetsInOrder();
        List<KafkaManualCommit> commits = new ArrayList<>();
        for (int i = 0; i < run.records(); i++) {
            commits.add(offsets.newInstance(null, new KafkaManualCommitFactory.KafkaRecordPayload(PARTITION, run.start() + i, 5000), null));
        }
        TreeSet<Long> unfinished = new TreeSet<>();
        for (int i = 0; i < run.records(); i++) {
            unfinished.add(run.start() + i);
        }
        long lastOffered = -1;
        for (int index : run.finishOrder()) {
            commits.get(index).commit();
            unfinished.remove(run.start() + index);
            if (run.doneTwice().contains(index)) {
                commits.get(index).commit();
            }
            long expected = unfinished.isEmpty() ? run.start() + run.records() : unfinished.first();
            if (expected == run.start()) {
                assertThat(offsets.committable(PARTITION)).as("nothing committable while the first record is unfinished").isEmpty();
            } else {
                long offered = offsets.committable(PARTITION).orElseThrow();
                assertThat(offered).as("one past the finished run from the first record").isEqualTo(expected);
                assertThat(offered).as("never back").isGreaterThanOrEqualTo(lastOffered);
                lastOffered = offered;
            }
        }
        assertThat(lastOffered).isEqualTo(run.start() + run.records());
    }

    @Property(tries = 100)
    void aRecordReadAgainAfterItsOffsetWasPassedDoesNotHoldTheCommitBack(@ForAll("runs") Run run) {
        OffsetsInOrder offsets = new OffsetsInOrder();
        for (int i = 0; i < run.records(); i++) {
            offsets.newInstance(null, new KafkaManualCommitFactory.KafkaRecordPayload(PARTITION, run.start() + i, 5000), null).commit();
        }
        // A rebalance gave the partition back from an older commit: the first record is read again.
        KafkaManualCommit again = offsets.newInstance(null, new KafkaManualCommitFactory.KafkaRecordPayload(PARTITION, run.start(), 5000), null);
        KafkaManualCommit next = offsets.newInstance(null, new KafkaManualCommitFactory.KafkaRecordPayload(PARTITION, run.start() + run.records(), 5000), null);
        next.commit();
        assertThat(offsets.committable(PARTITION)).hasValue(run.start() + run.records() + 1);
        again.commit();
        assertThat(offsets.committable(PARTITION)).hasValue(run.start() + run.records() + 1);
    }
}
