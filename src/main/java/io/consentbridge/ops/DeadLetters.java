package io.consentbridge.ops;

import io.consentbridge.events.EventEnvelope;
import io.consentbridge.inbound.InboundRequests;
import io.consentbridge.inbound.RejectedInputException;
import io.consentbridge.nylas.NylasCallException;
import org.apache.camel.Exchange;
import org.apache.camel.component.kafka.KafkaConstants;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds the {@code request.rejected} DLQ event for an inbound record that cannot be processed. */
public class DeadLetters {
    private final EventEnvelope events;
    private final InboundRequests inbound;

    public DeadLetters(EventEnvelope events, InboundRequests inbound) {
        this.events = events;
        this.inbound = inbound;
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
        } else if (failure instanceof NylasCallException nylas) {
            reason = "nylas rejected the credential";
            errors = List.of(nylas.getMessage());
        } else {
            reason = "processing failed";
            errors = List.of(failure == null ? "unknown error" : failure.getClass().getSimpleName() + ": " + failure.getMessage());
        }
        String tenantId = exchange.getProperty(InboundRequests.TENANT_ID, String.class);
        String requestId = exchange.getProperty(InboundRequests.REQUEST_ID, String.class);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("reason", reason);
        data.put("errors", errors);
        data.put("original", inbound.redactedOriginal(raw));
        exchange.getMessage().removeHeaders("*", KafkaConstants.MANUAL_COMMIT);
        exchange.getMessage().setHeader(KafkaConstants.KEY, tenantId);
        return events.build("request.rejected", tenantId, requestId, data);
    }
}
