package io.consentbridge.nylas;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;

import java.util.HashMap;
import java.util.Map;

/**
 * Nylas's list of the application's grants ({@code GET /v3/grants}, at most 200 a page, reference
 * §9), read page by page by the route {@code reconcile}: grant id to {@code grant_status}. A page
 * shorter than the limit is the last, so a sweep costs ⌈n/200⌉ calls (contract §5).
 */
public class GrantListing {
    public static final int PAGE = 200;
    /** Exchange properties of a listing in progress. */
    static final String GRANTS = "atNylas";
    static final String OFFSET = "listingOffset";
    static final String MORE = "listingMore";
    /** When the listing began: ledger rows changed after it are not compared (Nylas's list may predate them). */
    static final String STARTED = "listingStarted";

    public void start(Exchange exchange) {
        exchange.setProperty(STARTED, java.time.Instant.now());
        exchange.setProperty(GRANTS, new HashMap<String, String>());
        exchange.setProperty(OFFSET, 0);
        exchange.setProperty(MORE, true);
    }

    /** Adds one page (the answer's {@code data}) and moves the offset on. */
    @SuppressWarnings("unchecked")
    public void add(JsonNode page, Exchange exchange) {
        Map<String, String> grants = exchange.getProperty(GRANTS, Map.class);
        int count = 0;
        for (JsonNode grant : page) {
            count++;
            if (grant.path("id").isTextual()) {
                grants.put(grant.get("id").asText(), grant.path("grant_status").asText("valid"));
            }
        }
        exchange.setProperty(OFFSET, exchange.getProperty(OFFSET, Integer.class) + PAGE);
        exchange.setProperty(MORE, count >= PAGE);
    }
}
