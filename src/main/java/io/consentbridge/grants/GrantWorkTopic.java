package io.consentbridge.grants;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.events.OutboundRecord;

/**
 * Records of the internal grant-work topic: keyed by tenant like every record, spread over the
 * partitions by mailbox, so the grant consumers (and every instance) work on one tenant's
 * mailboxes at the same time.
 */
public class GrantWorkTopic {
    private final String topic;
    private final int partitions;
    private final ObjectMapper mapper;

    public GrantWorkTopic(String topic, int partitions, ObjectMapper mapper) {
        this.topic = topic;
        this.partitions = partitions;
        this.mapper = mapper;
    }

    public OutboundRecord record(GrantWork work) {
        try {
            return new OutboundRecord(topic, work.tenantId(), Math.floorMod(work.email().hashCode(), partitions), mapper.writeValueAsString(work));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public String topic() {
        return topic;
    }
}
