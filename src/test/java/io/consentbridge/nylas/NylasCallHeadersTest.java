package io.consentbridge.nylas;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class NylasCallHeadersTest {
    @Test
    void onlyTheRedeliveryBookkeepingAndTheCommitHandleStay() {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeader("Authorization", "Bearer from-the-record");
        exchange.getMessage().setHeader("CamelHttpUri", "https://elsewhere.example");
        exchange.getMessage().setHeader("camelhttppath", "/v3/grants");
        exchange.getMessage().setHeader("X-Request-Id", "req-1");
        exchange.getMessage().setHeader(Exchange.REDELIVERY_COUNTER, 2);
        exchange.getMessage().setHeader(Exchange.REDELIVERED, true);
        exchange.getMessage().setHeader("CamelKafkaManualCommit", "handle");

        new NylasCallHeaders().clear(exchange);

        assertThat(exchange.getMessage().getHeaders().keySet())
                .containsExactlyInAnyOrder(Exchange.REDELIVERY_COUNTER, Exchange.REDELIVERED, "CamelKafkaManualCommit");
    }
}
