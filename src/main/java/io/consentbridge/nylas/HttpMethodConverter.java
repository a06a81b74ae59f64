package io.consentbridge.nylas;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.http.HttpMethods;
import org.apache.camel.support.TypeConverterSupport;

import java.util.Locale;

/**
 * The HTTP method of a Nylas call, named in the routes as text (exchange property
 * {@code nylasMethod}), to what camel-http asks for. Without a converter of its own Camel looks for
 * one through every supertype and interface on every call before it falls back to the enum's names:
 * 4 % of the CPU of a fan-out (async-profiler, docs/benchmarks.md).
 */
public final class HttpMethodConverter extends TypeConverterSupport {
    /** Makes it the converter Camel finds for text to {@link HttpMethods}. */
    public static void registerIn(CamelContext context) {
        context.getTypeConverterRegistry().addTypeConverter(HttpMethods.class, String.class, new HttpMethodConverter());
    }

    @Override
    public <T> T convertTo(Class<T> type, Exchange exchange, Object value) {
        return type.cast(HttpMethods.valueOf(value.toString().trim().toUpperCase(Locale.ROOT)));
    }
}
