package io.consentbridge.nylas;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.TypeConversionException;
import org.apache.camel.component.http.HttpMethods;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HttpMethodConverterTest {
    @Test
    void theRoutesMethodNamesBecomeCamelHttpMethods() throws Exception {
        try (CamelContext context = new DefaultCamelContext()) {
            HttpMethodConverter.registerIn(context);
            context.start();
            Exchange exchange = new DefaultExchange(context);
            for (HttpMethods method : HttpMethods.values()) {
                exchange.getMessage().setHeader(Exchange.HTTP_METHOD, method.name());
                assertThat(exchange.getMessage().getHeader(Exchange.HTTP_METHOD, HttpMethods.class)).isEqualTo(method);
            }
            exchange.getMessage().setHeader(Exchange.HTTP_METHOD, " delete ");
            assertThat(exchange.getMessage().getHeader(Exchange.HTTP_METHOD, HttpMethods.class)).isEqualTo(HttpMethods.DELETE);
            // What the registry now finds for the pair is this converter, not the search through supertypes.
            assertThat(context.getTypeConverterRegistry().lookup(HttpMethods.class, String.class)).isInstanceOf(HttpMethodConverter.class);
            exchange.getMessage().setHeader(Exchange.HTTP_METHOD, "FETCH");
            assertThatThrownBy(() -> exchange.getMessage().getHeader(Exchange.HTTP_METHOD, HttpMethods.class))
                    .isInstanceOf(TypeConversionException.class);
        }
    }
}
