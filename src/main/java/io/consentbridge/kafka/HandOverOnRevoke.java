package io.consentbridge.kafka;

import org.apache.camel.component.kafka.consumer.support.subcription.SubscribeAdapter;
import org.apache.camel.component.kafka.consumer.support.subcription.TopicInfo;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * How every Kafka consumer of the bundle subscribes (camel-kafka looks this bean up by the name
 * {@code subscribeAdapter}): as camel-kafka does, and, when the group takes partitions away from a
 * consumer, the topics whose records are worked on out of the consumer's thread ({@link OffsetsInOrder})
 * first finish that work and commit it ({@link OffsetsInOrder#handOver}). Without this, the next
 * holder of a partition would read again, and work on at the same time, the requests still in flight.
 */
public class HandOverOnRevoke implements SubscribeAdapter {
    private final List<OffsetsInOrder> trackers;
    private final Duration patience;

    public HandOverOnRevoke(List<OffsetsInOrder> trackers, Duration patience) {
        this.trackers = List.copyOf(trackers);
        this.patience = patience;
    }

    @Override
    public void subscribe(Consumer<?, ?> consumer, ConsumerRebalanceListener listener, TopicInfo topics) {
        ConsumerRebalanceListener handingOver = new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                for (OffsetsInOrder tracker : trackers) {
                    tracker.handOver(consumer, partitions, patience);
                }
                listener.onPartitionsRevoked(partitions);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                listener.onPartitionsAssigned(partitions);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                // Lost, not revoked: the group has already given them to another member; nothing to commit.
                listener.onPartitionsLost(partitions);
            }
        };
        if (topics.isPattern()) {
            consumer.subscribe(topics.getPattern(), handingOver);
        } else {
            consumer.subscribe(topics.getTopics(), handingOver);
        }
    }
}
