package io.consentbridge.nylas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one place that reads Nylas answers: what is retried, what is final, what the rate does. */
class NylasAnswersTest {
    final NylasRateGovernor rate = new NylasRateGovernor(40);
    final NylasAnswers answers = new NylasAnswers(new ObjectMapper(), rate, Duration.ofSeconds(60));

    Exchange answer(int status, String body, String retryAfter) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        exchange.getMessage().setBody(body);
        if (retryAfter != null) {
            exchange.getMessage().setHeader("Retry-After", retryAfter);
        }
        return exchange;
    }

    @Test
    void successGivesTheDataAndNylasRequestId() {
        Exchange exchange = answer(201, "{\"request_id\":\"r-1\",\"data\":{\"id\":\"g-1\",\"unknown\":true}}", null);
        JsonNode data = answers.check(exchange);
        assertThat(data.path("id").asText()).isEqualTo("g-1");
        assertThat(exchange.getProperty(NylasAnswers.NYLAS_REQUEST_ID)).isEqualTo("r-1");
    }

    @Test
    void rateLimitsAndServerErrorsAreRetryable() {
        for (int status : new int[]{429, 500, 502, 503, 504}) {
            assertThatThrownBy(() -> answers.check(answer(status, "{\"request_id\":\"r\",\"error\":{\"type\":\"x\",\"message\":\"m\"}}", null)))
                    .isInstanceOf(NylasRetryableException.class);
        }
    }

    @Test
    void clientErrorsAreFinalAndCarryNylasDetails() {
        for (int status : new int[]{400, 401, 403, 404, 423}) {
            assertThatThrownBy(() -> answers.check(answer(status,
                    "{\"request_id\":\"req-9\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad email\"}}", null)))
                    .isInstanceOfSatisfying(NylasRejectedException.class, e -> {
                        assertThat(e.error().httpStatus()).isEqualTo(status);
                        assertThat(e.error().type()).isEqualTo("invalid_request_error");
                        assertThat(e.error().message()).isEqualTo("bad email");
                        assertThat(e.error().requestId()).isEqualTo("req-9");
                    });
        }
    }

    @Test
    void retryAfterBecomesTheNextRedeliveryDelayCapped() {
        Exchange exchange = answer(429, "{}", "7");
        assertThatThrownBy(() -> answers.check(exchange)).isInstanceOf(NylasRetryableException.class);
        assertThat(exchange.getMessage().getHeader(Exchange.REDELIVERY_DELAY)).isEqualTo(7000L);
        Exchange huge = answer(503, "{}", "86400");
        assertThatThrownBy(() -> answers.check(huge)).isInstanceOf(NylasRetryableException.class);
        assertThat(huge.getMessage().getHeader(Exchange.REDELIVERY_DELAY)).isEqualTo(60000L);
    }

    @Test
    void a429HalvesTheRateAndSuccessesWinItBack() {
        assertThatThrownBy(() -> answers.check(answer(429, "{}", null))).isInstanceOf(NylasRetryableException.class);
        assertThat(rate.currentLimit()).isEqualTo(20);
        for (int i = 0; i < 100; i++) {
            answers.check(answer(200, "{\"data\":{}}", null));
        }
        assertThat(rate.currentLimit()).isEqualTo(40);
    }

    @Test
    void anHtmlErrorPageStillGivesAClearError() {
        assertThatThrownBy(() -> answers.check(answer(502, "<html>Bad gateway</html>", null)))
                .isInstanceOfSatisfying(NylasRetryableException.class, e -> assertThat(e.error().type()).isEqualTo("http_502"));
    }

    @Test
    void nylasOwnLimitSlowsTheInstanceButAProviderLimitOnlyItsOwnCalls() {
        java.util.List<String> seen = new java.util.ArrayList<>();
        NylasRateGovernor governor = new NylasRateGovernor(40);
        NylasAnswers observed = new NylasAnswers(new ObjectMapper(), governor, Duration.ofSeconds(60),
                (endpoint, status, by) -> seen.add(endpoint + " " + status + " " + by));
        Exchange provider = answer(429, "{\"request_id\":\"r\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Too many requests\","
                + "\"provider_error\":{\"code\":\"ApplicationThrottled\"}}}", "5");
        provider.setProperty(NylasCalls.METHOD, "POST");
        provider.setProperty(NylasCalls.PATH, "/v3/connect/custom");
        assertThatThrownBy(() -> observed.check(provider)).isInstanceOf(NylasRetryableException.class);
        assertThat(governor.currentLimit()).as("a tenant's throttling does not slow everyone").isEqualTo(40);
        Exchange own = answer(429, "{\"request_id\":\"r\",\"error\":{\"type\":\"nylas_rate_limit_exceeded\",\"message\":\"slow down\"}}", null);
        own.setProperty(NylasCalls.METHOD, "DELETE");
        own.setProperty(NylasCalls.PATH, "/v3/grants/abc-123");
        assertThatThrownBy(() -> observed.check(own)).isInstanceOf(NylasRetryableException.class);
        assertThat(governor.currentLimit()).isEqualTo(20);
        assertThat(seen).containsExactly("POST /v3/connect/custom 429 provider", "DELETE /v3/grants/{id} 429 nylas");
        assertThat(NylasAnswers.endpoint("PATCH", "/v3/connectors/microsoft/creds/c-9")).isEqualTo("PATCH /v3/connectors/microsoft/creds/{id}");
        assertThat(NylasAnswers.endpoint("GET", "/v3/grants")).isEqualTo("GET /v3/grants");
    }
}
