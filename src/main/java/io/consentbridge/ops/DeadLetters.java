package io.consentbridge.ops;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.events.EventEnvelope;
import io.consentbridge.inbound.InboundRequests;
import io.consentbridge.inbound.RejectedInputException;
import io.consentbridge.ledger.LedgerDataException;
import io.consentbridge.ledger.RequestRefusedException;
import io.consentbridge.nylas.NylasCallException;
import org.apache.camel.Exchange;
import org.apache.camel.component.kafka.KafkaConstants;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the {@code request.rejected} DLQ event for an inbound record that cannot be processed,
 * always within the contract's 256 KiB bound (contract §2): at most 100 errors (the number left out
 * in {@code errors_omitted}), and an {@code original} too large to keep cut and marked.
 */
public class DeadLetters {
    /** Every event on any topic fits in 256 KiB (contract §2). */
    public static final int MAX_EVENT_BYTES = 256 * 1024;
    static final int MAX_ERRORS = 100;
    static final int MAX_ERROR_CHARS = 1000;
    /** Room kept for what is added after sizing (none today; a safety margin for the envelope). */
    private static final int MARGIN = 512;
    /** Exchange property: the reason, kept for {@link #minimal} when the full event cannot be sent. */
    static final String REASON = "rejectionReason";

    private final EventEnvelope events;
    private final InboundRequests inbound;
    private final ObjectMapper mapper;

    public DeadLetters(EventEnvelope events, InboundRequests inbound, ObjectMapper mapper) {
        this.events = events;
        this.inbound = inbound;
        this.mapper = mapper;
    }

    /**
     * @param raw the record value as it arrived
     */
    public String rejected(String raw, Exchange exchange) {
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String reason;
        List<String> errors;
        if (failure instanceof RejectedInputException rejected) {
            reason = rejected.reason();
            errors = rejected.errors();
        } else if (failure instanceof RequestRefusedException refused) {
            reason = refused.reason();
            errors = refused.errors();
        } else if (failure instanceof LedgerDataException data) {
            reason = "does not fit the ledger";
            errors = List.of(data.getMessage());
        } else if (failure instanceof NylasCallException nylas) {
            reason = "nylas rejected the credential";
            errors = List.of(nylas.getMessage());
        } else {
            reason = "processing failed";
            errors = List.of(failure == null ? "unknown error" : failure.getClass().getSimpleName() + ": " + failure.getMessage());
        }
        exchange.setProperty(REASON, reason);
        String tenantId = exchange.getProperty(InboundRequests.TENANT_ID, String.class);
        String requestId = exchange.getProperty(InboundRequests.REQUEST_ID, String.class);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("reason", reason);
        List<String> kept = new ArrayList<>(Math.min(errors.size(), MAX_ERRORS));
        for (String error : errors.subList(0, Math.min(errors.size(), MAX_ERRORS))) {
            kept.add(error == null || error.length() <= MAX_ERROR_CHARS ? error : error.substring(0, MAX_ERROR_CHARS) + "...");
        }
        data.put("errors", kept);
        if (errors.size() > MAX_ERRORS) {
            data.put("errors_omitted", errors.size() - MAX_ERRORS);
        }
        Object original = inbound.redactedOriginal(raw);
        data.put("original", original);
        prepareRecord(exchange, tenantId);
        String event = events.build("request.rejected", tenantId, requestId, data);
        if (bytes(event) <= MAX_EVENT_BYTES) {
            return event;
        }
        // Too large: the original (secrets already masked) is kept as text, cut to what fits.
        data.put("original", "");
        data.put("original_truncated", true);
        data.put("original_bytes", raw == null ? 0 : bytes(raw));
        int room = MAX_EVENT_BYTES - MARGIN - bytes(events.build("request.rejected", tenantId, requestId, data));
        String cut = prefixFitting(text(original), Math.max(0, room));
        data.put("original", cut);
        event = events.build("request.rejected", tenantId, requestId, data);
        // The envelope's writer may escape more than plain JSON does: cut further, in proportion, until it fits.
        while (bytes(event) > MAX_EVENT_BYTES && !cut.isEmpty()) {
            int keep = (int) (cut.length() * 0.9 * (MAX_EVENT_BYTES - MARGIN) / bytes(event));
            keep = Math.max(0, Math.min(keep, cut.length() - 1));
            if (keep > 0 && Character.isHighSurrogate(cut.charAt(keep - 1))) {
                keep--;
            }
            cut = cut.substring(0, keep);
            data.put("original", cut);
            event = events.build("request.rejected", tenantId, requestId, data);
        }
        // Errors full of escaped characters can still be too many: the last ones go, and are counted.
        int omitted = Math.max(0, errors.size() - MAX_ERRORS);
        while (bytes(event) > MAX_EVENT_BYTES && !kept.isEmpty()) {
            kept.remove(kept.size() - 1);
            data.put("errors_omitted", ++omitted);
            event = events.build("request.rejected", tenantId, requestId, data);
        }
        return event;
    }

    /**
     * The smallest rejection, for when the full one could not be published: the record still
     * leaves a trace and its partition moves on. The reason, the size, no original.
     */
    public String minimal(String raw, Exchange exchange) {
        Throwable sendFailure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String tenantId = exchange.getProperty(InboundRequests.TENANT_ID, String.class);
        String requestId = exchange.getProperty(InboundRequests.REQUEST_ID, String.class);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("reason", exchange.getProperty(REASON, "processing failed", String.class));
        data.put("errors", List.of("the full rejection could not be published ("
                + (sendFailure == null ? "unknown error" : sendFailure.getClass().getSimpleName()) + "); the original is not kept"));
        data.put("original", null);
        data.put("original_truncated", true);
        data.put("original_bytes", raw == null ? 0 : bytes(raw));
        prepareRecord(exchange, tenantId);
        return events.build("request.rejected", tenantId, requestId, data);
    }

    private static void prepareRecord(Exchange exchange, String tenantId) {
        exchange.getMessage().removeHeaders("*", KafkaConstants.MANUAL_COMMIT);
        exchange.getMessage().setHeader(KafkaConstants.KEY, tenantId);
        exchange.getMessage().setHeader(EventEnvelope.CONTENT_TYPE_HEADER, EventEnvelope.STRUCTURED);
    }

    private String text(Object original) {
        if (original == null) {
            return "";
        }
        if (original instanceof JsonNode json && !json.isTextual()) {
            try {
                return mapper.writeValueAsString(json);
            } catch (JsonProcessingException e) {
                return "";
            }
        }
        return original instanceof JsonNode json ? json.asText() : original.toString();
    }

    /** The longest prefix of {@code text} whose JSON string form takes at most {@code budget} UTF-8 bytes. */
    static String prefixFitting(String text, int budget) {
        int used = 0;
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            int width;
            int chars = 1;
            if (c == '"' || c == '\\') {
                width = 2;
            } else if (c < 0x20) {
                width = 6;
            } else if (c < 0x80) {
                width = 1;
            } else if (c < 0x800) {
                width = 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                width = 4;
                chars = 2;
            } else if (Character.isSurrogate(c)) {
                width = 6;
            } else {
                width = 3;
            }
            if (used + width > budget) {
                break;
            }
            used += width;
            i += chars;
        }
        return text.substring(0, i);
    }

    static int bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
