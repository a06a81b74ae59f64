package io.consentbridge.lifecycle;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/** The state inside a consent.url.issued event's link. */
final class TopicReaderQueries {
    private TopicReaderQueries() {
    }

    static String state(JsonNode issued) {
        String query = URI.create(issued.path("data").path("consent_url").asText()).getRawQuery();
        for (String pair : query.split("&")) {
            if (pair.startsWith("state=")) {
                return URLDecoder.decode(pair.substring(6), StandardCharsets.UTF_8);
            }
        }
        throw new IllegalStateException("no state in " + issued);
    }
}
