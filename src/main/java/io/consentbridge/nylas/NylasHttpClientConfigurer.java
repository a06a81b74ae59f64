package io.consentbridge.nylas;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.ChainElement;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.http.HttpHeaders;
import org.apache.hc.core5.http.message.BasicHeader;
import java.io.InterruptedIOException;
import java.util.List;

/**
 * The one HTTP client setup for Nylas: the API key is added here, at the client, so it never sits
 * in an exchange header, an endpoint URI or a log line; and every request waits here for its turn
 * on the deployment's rate budget ({@link NylasRateBudget}), after its connection is ready and just
 * before it is written, so that nothing (a new connection, a cold code path) stands between the turn
 * and the wire. Timeouts are the http component's options in application.properties.
 */
public class NylasHttpClientConfigurer implements HttpClientConfigurer {
    private final String apiKey;
    private final NylasRateBudget budget;

    public NylasHttpClientConfigurer(String apiKey, NylasRateBudget budget) {
        this.apiKey = apiKey;
        this.budget = budget;
    }

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.setDefaultHeaders(List.of(
                new BasicHeader(HttpHeaders.AUTHORIZATION, "Bearer " + apiKey),
                new BasicHeader(HttpHeaders.ACCEPT, "application/json"),
                new BasicHeader(HttpHeaders.USER_AGENT, "consent-bridge")));
        // Retries are decided by the routes' error handling, in one place.
        builder.disableAutomaticRetries();
        builder.addExecInterceptorAfter(ChainElement.CONNECT.name(), "nylas-rate-budget", (request, scope, chain) -> {
            try {
                budget.awaitTurn();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("stopped while waiting for a turn to call Nylas");
            }
            return chain.proceed(request, scope);
        });
    }

    @Override
    public String toString() {
        return "NylasHttpClientConfigurer[api key hidden]";
    }
}
