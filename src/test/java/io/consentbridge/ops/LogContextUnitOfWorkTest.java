package io.consentbridge.ops;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.UnitOfWorkFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A record's log context follows its exchange into another thread (the bridge's routes hop to a
 * Kafka producer's callback, a retry's timer), as Camel's MDC logging did, without Camel's own keys.
 */
public class LogContextUnitOfWorkTest {
    private CamelContext context;
    private final Map<String, String> seen = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        if (context != null) {
            context.stop();
        }
        MDC.clear();
    }

    private ProducerTemplate start(boolean camelMdc) throws Exception {
        context = new DefaultCamelContext();
        context.getCamelContextExtension().addContextPlugin(UnitOfWorkFactory.class, new LogContextUnitOfWork.Factory());
        context.setUseMDCLogging(camelMdc);
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:record").routeId("record")
                        .process(e -> LogContext.of(e.getMessage().getHeader("tenant", String.class), "req-" + e.getMessage().getBody()))
                        .process(e -> note(e, "before"))
                        // the rest of the route goes on in another thread
                        .threads(1, 1).threadName("after-hop")
                        .process(e -> note(e, "after"));
            }
        });
        context.start();
        return context.createProducerTemplate();
    }

    private void note(Exchange exchange, String where) {
        String key = exchange.getMessage().getBody(String.class) + "/" + where;
        seen.put(key + "/thread", Thread.currentThread().getName());
        seen.put(key + "/tenant", String.valueOf(MDC.get(LogContext.TENANT_ID)));
        seen.put(key + "/request", String.valueOf(MDC.get(LogContext.REQUEST_ID)));
        seen.put(key + "/camel", String.valueOf(MDC.get("camel.exchangeId")));
    }

    @Test
    void theTenantAndRequestFollowTheExchangeIntoAnotherThread() throws Exception {
        ProducerTemplate producer = start(false);
        producer.sendBodyAndHeader("direct:record", "1", "tenant", "contoso");
        producer.sendBodyAndHeader("direct:record", "2", "tenant", "fabrikam");

        assertThat(seen.get("1/after/thread")).contains("after-hop").isNotEqualTo(seen.get("1/before/thread"));
        // A step that sets the context keeps what it set in its own thread, though the last record's was there before.
        assertThat(seen).containsEntry("2/before/tenant", "fabrikam").containsEntry("2/before/request", "req-2");
        assertThat(seen).containsEntry("1/after/tenant", "contoso").containsEntry("1/after/request", "req-1")
                .containsEntry("2/after/tenant", "fabrikam").containsEntry("2/after/request", "req-2");
        // None of Camel's own keys: no layout of the bridge writes them.
        assertThat(seen).containsEntry("1/before/camel", "null").containsEntry("1/after/camel", "null");
    }

    @Test
    void camelsMdcLoggingStillAvailableWhenAskedFor() throws Exception {
        ProducerTemplate producer = start(true);
        producer.sendBodyAndHeader("direct:record", "1", "tenant", "contoso");
        producer.sendBodyAndHeader("direct:record", "2", "tenant", "fabrikam");

        assertThat(seen).containsEntry("1/after/tenant", "contoso").containsEntry("2/after/tenant", "fabrikam")
                .containsEntry("2/before/tenant", "fabrikam");
        assertThat(seen.get("1/after/camel")).isNotEqualTo("null");
    }
}
