package io.consentbridge.events;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.format.EventFormat;
import io.cloudevents.jackson.JsonCloudEventData;
import io.cloudevents.jackson.JsonFormat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Builds every outbound event (contract §2) with the CloudEvents SDK: a CloudEvents 1.0 event in
 * the JSON event format, written as the value of a record in structured mode. The record carries
 * the header {@link #CONTENT_TYPE_HEADER} = {@link #STRUCTURED}, so the SDKs' Kafka readers
 * recognise it as it is.
 */
public class EventEnvelope {
    public static final String SOURCE = "consent-bridge";
    /** The Kafka protocol binding's header for structured mode, and its value. */
    public static final String CONTENT_TYPE_HEADER = "content-type";
    public static final String STRUCTURED = JsonFormat.CONTENT_TYPE;
    private static final URI SOURCE_URI = URI.create(SOURCE);
    private static final EventFormat FORMAT = new JsonFormat();
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
        CloudEventBuilder event = CloudEventBuilder.v1()
                .withId(UUID.randomUUID().toString())
                .withSource(SOURCE_URI)
                .withType(type)
                .withTime(OffsetDateTime.ofInstant(clock.instant().truncatedTo(ChronoUnit.MILLIS), ZoneOffset.UTC))
                .withDataContentType("application/json")
                .withData(JsonCloudEventData.wrap(mapper.valueToTree(body)));
        if (tenantId != null) {
            event.withSubject(tenantId);
        }
        return serialize(event.build());
    }

    static String serialize(CloudEvent event) {
        return new String(FORMAT.serialize(event), StandardCharsets.UTF_8);
    }

    /** The {@code type} of a CloudEvent in the JSON format, without parsing the whole event. */
    public static String typeOf(String event) {
        if (event == null) {
            return null;
        }
        int at = event.indexOf("\"type\":\"");
        if (at < 0) {
            return null;
        }
        int start = at + 8;
        int end = event.indexOf('"', start);
        return end < 0 || end - start > 64 ? null : event.substring(start, end);
    }
}
