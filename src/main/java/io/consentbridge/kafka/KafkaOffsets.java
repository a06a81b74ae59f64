package io.consentbridge.kafka;

import org.apache.camel.Exchange;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.component.kafka.consumer.KafkaManualCommit;

/**
 * Commits a consumed record's offset. Called from one place per consumer kind, the
 * {@code onCompletion} of the route configurations {@code inbound-errors} and {@code grant-errors}:
 * once a record's work is durably done or answered, never after a failure left unhandled.
 */
public class KafkaOffsets {
    public void commit(Exchange exchange) {
        KafkaManualCommit commit = exchange.getMessage().getHeader(KafkaConstants.MANUAL_COMMIT, KafkaManualCommit.class);
        if (commit != null) {
            commit.commit();
        }
    }
}
