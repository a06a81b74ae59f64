package io.consentbridge.callback;

import org.apache.camel.http.base.HttpHeaderFilterStrategy;

/**
 * The headers of the public port's answers (the consent callback's page, the webhook endpoint's):
 * Camel's usual filter for HTTP, which keeps hop-by-hop and Camel's own headers off the wire, except
 * that an answer's {@code Cache-Control} goes out. Camel's filter drops it, and the pages' {@code no-store}
 * (README, Security: no browser or proxy keeps a copy of what became of a consent) never reached the browser.
 */
public class PublicPageHeaders extends HttpHeaderFilterStrategy {
    public PublicPageHeaders() {
        getOutFilter().remove("cache-control");
    }
}
