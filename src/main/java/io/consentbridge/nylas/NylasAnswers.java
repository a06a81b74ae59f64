package io.consentbridge.nylas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * The one place that decides what a Nylas answer means (reference §4: branch on the HTTP status,
 * treat {@code error.type} as information). Success gives the response's {@code data}; 429 and 5xx
 * throw {@link NylasRetryableException} (with {@code Retry-After} passed on as the next redelivery
 * delay); every other status throws {@link NylasRejectedException}. A DELETE that finds nothing
 * (404) has done its job.
 */
public class NylasAnswers {
    /** Exchange property holding Nylas's request_id of the last answer. */
    public static final String NYLAS_REQUEST_ID = "nylasRequestId";
    /** The id in a path that names one object; compiled once (String.replaceAll compiles it on every call). */
    private static final Pattern ID_IN_PATH = Pattern.compile("^(/v3/grants/|/v3/connectors/[^/]+/creds/)[^/?]+");

    private final ObjectMapper mapper;
    private final NylasRateGovernor rate;
    private final Duration maxRetryAfter;
    private final NylasCallObserver observer;

    public NylasAnswers(ObjectMapper mapper, NylasRateGovernor rate, Duration maxRetryAfter) {
        this(mapper, rate, maxRetryAfter, NylasCallObserver.NONE);
    }

    public NylasAnswers(ObjectMapper mapper, NylasRateGovernor rate, Duration maxRetryAfter, NylasCallObserver observer) {
        this.mapper = mapper;
        this.rate = rate;
        this.maxRetryAfter = maxRetryAfter;
        this.observer = observer;
    }

    /** The endpoint a call went to, ids left out: {@code DELETE /v3/grants/{id}}. */
    static String endpoint(String method, String path) {
        String template = path == null ? "" : ID_IN_PATH.matcher(path).replaceFirst("$1{id}");
        return (method == null ? "POST" : method) + " " + template;
    }

    public JsonNode check(Exchange exchange) {
        int status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        String text = exchange.getMessage().getBody(String.class);
        JsonNode body = parse(text);
        String requestId = body.path("request_id").isTextual() ? body.get("request_id").asText()
                : exchange.getMessage().getHeader("x-request-id", String.class);
        exchange.setProperty(NYLAS_REQUEST_ID, requestId);

        String method = exchange.getProperty(NylasCalls.METHOD, String.class);
        boolean delete = "DELETE".equals(method);
        JsonNode provider = body.path("error").path("provider_error");
        boolean fromProvider = !provider.isMissingNode() && !provider.isNull();
        // A 429 is Nylas's own limit (nylas_rate_limit_exceeded, no provider_error) or Microsoft throttling one tenant.
        String limitedBy = status != 429 ? null : fromProvider ? "provider" : "nylas";
        observer.answered(endpoint(method, exchange.getProperty(NylasCalls.PATH, String.class)), status, limitedBy);
        if (delete && (status >= 200 && status < 300 || status == 404)) {
            // A DELETE answers with no data; 404: the object is gone already, which is what was asked (contract §5).
            rate.succeeded();
            return mapper.createObjectNode();
        }
        if (status >= 200 && status < 300) {
            rate.succeeded();
            JsonNode data = body.path("data");
            // A listing (GET /v3/grants) answers with an array, every other call with an object.
            if (!data.isObject() && !data.isArray()) {
                throw new NylasRetryableException(new NylasError("invalid_response", "response has no data object", status, requestId));
            }
            return data;
        }
        JsonNode error = body.path("error");
        String message = error.path("message").asText(text == null ? "" : text);
        // Microsoft's own error (with its AADSTS code) may come only in provider_error: kept with the message.
        if (fromProvider) {
            message = message + " (provider: " + provider + ")";
        }
        NylasError failure = new NylasError(
                error.path("type").asText(status == 429 ? "rate_limit_error" : "http_" + status),
                message, status, requestId);
        if (status == 429 && !fromProvider) {
            // Nylas's limit for the whole application: this instance slows down. Microsoft throttling one
            // tenant slows only that tenant's calls (their retries wait), not everyone's.
            rate.throttled();
        }
        if (status == 429 || status >= 500) {
            Duration retryAfter = retryAfter(exchange.getMessage().getHeader("Retry-After", String.class));
            if (retryAfter != null) {
                // Camel's redelivery honours this header as the delay before the next attempt.
                exchange.getMessage().setHeader(Exchange.REDELIVERY_DELAY, retryAfter.toMillis());
            }
            throw new NylasRetryableException(failure);
        }
        throw new NylasRejectedException(failure);
    }

    /** The failure a handled error carries, as Nylas's error (or a connection error). */
    public NylasError errorOf(Exchange exchange) {
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        // The ledger's LedgerDataException (a value it cannot keep) is an IllegalArgumentException.
        if (failure instanceof IllegalArgumentException unfit) {
            // Nylas answered, but with something the ledger cannot keep (an over-long id): report, do not retry.
            return new NylasError("invalid_response", "the answer could not be recorded: " + unfit.getMessage(), 0,
                    exchange.getProperty(NYLAS_REQUEST_ID, String.class));
        }
        return failure == null ? new NylasError("unknown_error", "no error recorded", 0, null) : NylasError.of(failure);
    }

    private JsonNode parse(String text) {
        if (text == null || text.isBlank()) {
            return mapper.createObjectNode();
        }
        try {
            return mapper.readTree(text);
        } catch (Exception notJson) {
            return mapper.createObjectNode();
        }
    }

    /** Retry-After in seconds (the HTTP-date form is not used by Nylas), capped. */
    private Duration retryAfter(String header) {
        if (header == null) {
            return null;
        }
        try {
            long seconds = Long.parseLong(header.trim());
            Duration wait = Duration.ofSeconds(Math.max(0, seconds));
            return wait.compareTo(maxRetryAfter) > 0 ? maxRetryAfter : wait;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
