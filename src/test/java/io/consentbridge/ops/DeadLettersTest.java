package io.consentbridge.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.events.EventEnvelope;
import io.consentbridge.inbound.InboundRequests;
import io.consentbridge.inbound.RejectedInputException;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Every rejection fits 256 KiB, whatever it rejects (contract §2). */
class DeadLettersTest {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final DeadLetters DEAD_LETTERS = new DeadLetters(new EventEnvelope(MAPPER, Clock.systemUTC()), new InboundRequests(), MAPPER);

    @Test
    void tenThousandErrorsKeepTheFirstHundredAndCountTheRest() throws Exception {
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < 10_001; i++) {
            errors.add("/mailboxes/" + i + ": must be at most 320 characters long");
        }
        JsonNode data = rejection("{\"request_id\":\"r\",\"tenant_id\":\"t\"}", new RejectedInputException("invalid onboarding request", errors));
        assertThat(data.path("errors")).hasSize(100);
        assertThat(data.path("errors_omitted").asInt()).isEqualTo(9_901);
        assertThat(data.path("original").path("tenant_id").asText()).isEqualTo("t");
    }

    @Test
    void anOriginalTooLargeToKeepIsCutAndMarked() throws Exception {
        String raw = "{\"request_id\":\"r\",\"tenant_id\":\"t\",\"x\":\"" + "é\u0001\"".repeat(300_000).replace("\"", "\\\"") + "\"}";
        JsonNode data = rejection(raw, new RejectedInputException("invalid onboarding request", List.of("/x: unknown")));
        assertThat(data.path("original_truncated").asBoolean()).isTrue();
        assertThat(data.path("original_bytes").asInt()).isEqualTo(raw.getBytes(StandardCharsets.UTF_8).length);
        assertThat(data.path("original").asText()).startsWith("{\"request_id\":\"r\"");
    }

    @Test
    void errorsFullOfEscapedCharactersAreCutToFitToo() throws Exception {
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            errors.add("\u0001".repeat(5_000));
        }
        JsonNode data = rejection("not json", new RejectedInputException("invalid", errors));
        assertThat(data.path("errors").size() + data.path("errors_omitted").asInt()).isEqualTo(100);
        assertThat(data.path("errors").get(0).asText()).hasSize(1003);
    }

    @Test
    void theMinimalRejectionNamesReasonAndSizeOnly() throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(DeadLetters.REASON, "invalid onboarding request");
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, new IllegalStateException("RecordTooLargeException"));
        JsonNode event = MAPPER.readTree(DEAD_LETTERS.minimal("x".repeat(900_000), exchange));
        assertThat(event.path("type").asText()).isEqualTo("request.rejected");
        assertThat(event.path("data").path("reason").asText()).isEqualTo("invalid onboarding request");
        assertThat(event.path("data").path("original_bytes").asInt()).isEqualTo(900_000);
        assertThat(event.path("data").path("original").isNull()).isTrue();
    }

    static JsonNode rejection(String raw, Exception failure) throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, failure);
        String event = DEAD_LETTERS.rejected(raw, exchange);
        assertThat(event.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(DeadLetters.MAX_EVENT_BYTES);
        JsonNode parsed = MAPPER.readTree(event);
        assertThat(parsed.path("type").asText()).isEqualTo("request.rejected");
        return parsed.path("data");
    }
}
