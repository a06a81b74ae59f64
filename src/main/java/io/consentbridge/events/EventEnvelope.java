package io.consentbridge.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** Builds every outbound event: a CloudEvents 1.0 JSON object in structured mode (contract §2). */
public class EventEnvelope {
    public static final String SOURCE = "consent-bridge";
    private final ObjectMapper mapper;
    private final Clock clock;

    public EventEnvelope(ObjectMapper mapper, Clock clock) {
        this.mapper = mapper;
        this.clock = clock;
    }

    /**
     * @param data the event's own fields; {@code request_id} and {@code tenant_id} are always put first
     */
    public String build(String type, String tenantId, String requestId, Map<String, ?> data) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("request_id", requestId);
        body.put("tenant_id", tenantId);
        body.putAll(data);
        ObjectNode event = mapper.createObjectNode();
        event.put("specversion", "1.0");
        event.put("id", UUID.randomUUID().toString());
        event.put("source", SOURCE);
        event.put("type", type);
        event.put("time", Instant.now(clock).truncatedTo(ChronoUnit.MILLIS).toString());
        if (tenantId != null) {
            event.put("subject", tenantId);
        }
        event.put("datacontenttype", "application/json");
        event.set("data", mapper.valueToTree(body));
        try {
            return mapper.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("event not serialisable: " + type, e);
        }
    }
}
