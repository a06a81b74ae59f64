package io.consentbridge.inbound;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.ValidationMessage;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An input record may be a CloudEvent (contract §2), in either mode of the Kafka protocol binding:
 * <ul>
 *   <li>structured: the value is the whole event, a JSON object with {@code specversion}, with or
 *       without the header {@code content-type: application/cloudevents+json};</li>
 *   <li>binary: the attributes are {@code ce_}-prefixed headers, {@code content-type} is the
 *       {@code datacontenttype}, and the value is the data.</li>
 * </ul>
 * Either way the event's {@code data} is the request, which the caller then judges by the topic's
 * own schema. The attributes are checked against {@code schemas/cloudevent-request.schema.json};
 * a record whose headers contradict each other is refused rather than guessed at.
 */
public final class CloudEventInput {
    static final String REASON = "invalid CloudEvent";
    private static final String CONTENT_TYPE = "content-type";
    private static final String STRUCTURED = "application/cloudevents+json";
    private static final String ATTRIBUTE_PREFIX = "ce_";

    /** How a record presents itself, judged from its headers alone. */
    public enum Mode {
        /** No CloudEvents headers: a plain request, or a structured event without the header. */
        UNDECLARED,
        /** {@code content-type: application/cloudevents+json}. */
        STRUCTURED,
        /** {@code ce_} headers. */
        BINARY
    }

    private final JsonSchema attributes;

    CloudEventInput(JsonSchema attributes) {
        this.attributes = attributes;
    }

    /** The record's mode; refuses headers that say two things at once or name a format we do not read. */
    public static Mode mode(Map<String, Object> headers) {
        String contentType = header(headers, CONTENT_TYPE);
        String mediaType = contentType == null ? null : mediaType(contentType);
        boolean binary = headers.keySet().stream().anyMatch(CloudEventInput::isAttributeHeader);
        if (mediaType != null && mediaType.startsWith("application/cloudevents-batch")) {
            throw new RejectedInputException(REASON, List.of("batched CloudEvents (" + mediaType + ") are not accepted: send one event per record"));
        }
        if (mediaType != null && mediaType.startsWith("application/cloudevents") && !mediaType.equals(STRUCTURED)) {
            throw new RejectedInputException(REASON, List.of("the CloudEvents format " + mediaType + " is not accepted: use " + STRUCTURED + " or binary mode"));
        }
        if (STRUCTURED.equals(mediaType)) {
            if (binary) {
                throw new RejectedInputException(REASON, List.of("conflicting headers: content-type says structured mode, the ce_ headers say binary mode"));
            }
            return Mode.STRUCTURED;
        }
        return binary ? Mode.BINARY : Mode.UNDECLARED;
    }

    /**
     * The request the record carries: its value as it is, or the {@code data} of the CloudEvent it is.
     *
     * @param value the record value, parsed; {@code null} when the value is empty
     */
    public JsonNode request(Mode mode, JsonNode value, Map<String, Object> headers) {
        switch (mode) {
            case BINARY -> {
                return dataOf(binaryEvent(value, headers), "binary mode (ce_ headers, content-type = datacontenttype): ");
            }
            case STRUCTURED -> {
                if (value == null || !value.isObject() || !value.has("specversion")) {
                    throw new RejectedInputException(REASON, List.of(
                            "the content-type header says a structured CloudEvent, but the value is not one (a JSON object with specversion)"));
                }
                return dataOf(value, "");
            }
            default -> {
                return value != null && value.isObject() && value.has("specversion") ? dataOf(value, "") : value;
            }
        }
    }

    /** The binary event as the structured one it stands for: attributes from the headers, the value as data. */
    private static ObjectNode binaryEvent(JsonNode value, Map<String, Object> headers) {
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        List<String> problems = new ArrayList<>();
        headers.forEach((name, header) -> {
            if (isAttributeHeader(name)) {
                String attribute = name.substring(ATTRIBUTE_PREFIX.length());
                if (attribute.equals("data") || attribute.equals("data_base64")) {
                    problems.add("the header " + name + " is not a CloudEvents attribute: in binary mode the record value is the data");
                } else {
                    event.put(attribute, text(header));
                }
            }
        });
        if (!problems.isEmpty()) {
            throw new RejectedInputException(REASON, problems);
        }
        String contentType = header(headers, CONTENT_TYPE);
        if (contentType != null) {
            event.put("datacontenttype", contentType);
        }
        if (value != null) {
            event.set("data", value);
        }
        return event;
    }

    private JsonNode dataOf(JsonNode event, String where) {
        List<String> problems = new ArrayList<>();
        for (ValidationMessage problem : attributes.validate(event)) {
            // "/data: string found, object expected"; the event itself has the empty path.
            String message = problem.getMessage();
            problems.add(where + (message.startsWith(": ") ? "the event" + message : message));
        }
        if (!problems.isEmpty()) {
            problems.sort(null);
            throw new RejectedInputException(REASON, problems);
        }
        return event.get("data");
    }

    private static boolean isAttributeHeader(String name) {
        return name.regionMatches(true, 0, ATTRIBUTE_PREFIX, 0, ATTRIBUTE_PREFIX.length());
    }

    private static String mediaType(String contentType) {
        int parameters = contentType.indexOf(';');
        return (parameters < 0 ? contentType : contentType.substring(0, parameters)).trim().toLowerCase(Locale.ROOT);
    }

    private static String header(Map<String, Object> headers, String name) {
        Object value = headers.get(name);
        return value == null ? null : text(value);
    }

    /** Kafka header values arrive as bytes (UTF-8 by the binding). */
    private static String text(Object header) {
        return header instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(header);
    }
}
