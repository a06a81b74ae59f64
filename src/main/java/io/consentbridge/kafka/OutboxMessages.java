package io.consentbridge.kafka;

import io.consentbridge.events.EventEnvelope;
import io.consentbridge.ledger.OutboxRecord;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.support.DefaultMessage;

import java.util.ArrayList;
import java.util.List;

/**
 * A relay round's outbox records as Kafka messages, for the route {@code outbox-relay}: the Kafka
 * producer sends a list as one batch and waits for every acknowledgement, so a round costs one
 * send, not one per event. Each message names its own topic and key and carries the CloudEvents
 * content-type header.
 */
public class OutboxMessages {
    /** Exchange property of a relay round: the ids of the records it sends, deleted once sent. */
    public static final String IDS = "outboxIds";
    /** Exchange property of a relay round: the event type of each record, for the metrics. */
    public static final String TYPES = "outboxTypes";

    public List<Message> toMessages(List<OutboxRecord> records, Exchange exchange) {
        List<Message> messages = new ArrayList<>(records.size());
        long[] ids = new long[records.size()];
        List<String> types = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            OutboxRecord record = records.get(i);
            Message message = new DefaultMessage(exchange);
            message.setHeader(KafkaConstants.OVERRIDE_TOPIC, record.topic());
            message.setHeader(KafkaConstants.KEY, record.key());
            message.setHeader(EventEnvelope.CONTENT_TYPE_HEADER, EventEnvelope.STRUCTURED);
            types.add(EventEnvelope.typeOf(record.payload()));
            if (record.partition() != null) {
                message.setHeader(KafkaConstants.PARTITION_KEY, record.partition());
            }
            message.setBody(record.payload());
            messages.add(message);
            ids[i] = record.id();
        }
        // A property, not a header: nothing of the outbox's own shows on the Kafka records.
        exchange.setProperty(IDS, ids);
        exchange.setProperty(TYPES, types);
        return messages;
    }
}
