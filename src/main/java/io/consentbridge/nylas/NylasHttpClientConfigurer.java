package io.consentbridge.nylas;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.http.HttpHeaders;
import org.apache.hc.core5.http.message.BasicHeader;
import java.util.List;

/**
 * The one HTTP client setup for Nylas: the API key is added here, at the client, so it never sits
 * in an exchange header, an endpoint URI or a log line. Timeouts are the http component's
 * options in application.properties.
 */
public class NylasHttpClientConfigurer implements HttpClientConfigurer {
    private final String apiKey;

    public NylasHttpClientConfigurer(String apiKey) {
        this.apiKey = apiKey;
    }

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.setDefaultHeaders(List.of(
                new BasicHeader(HttpHeaders.AUTHORIZATION, "Bearer " + apiKey),
                new BasicHeader(HttpHeaders.ACCEPT, "application/json"),
                new BasicHeader(HttpHeaders.USER_AGENT, "consent-bridge")));
        // Retries are decided by the routes' error handling, in one place.
        builder.disableAutomaticRetries();
    }

    @Override
    public String toString() {
        return "NylasHttpClientConfigurer[api key hidden]";
    }
}
