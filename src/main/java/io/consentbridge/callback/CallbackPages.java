package io.consentbridge.callback;

import io.consentbridge.consent.CallbackOutcome;
import org.apache.camel.Exchange;

/**
 * The small page the tenant admin sees after the consent redirect. Everything echoed is
 * HTML-escaped; the page loads nothing and links nowhere (no open redirect).
 */
public class CallbackPages {

    public String render(CallbackOutcome outcome, Exchange exchange) {
        String error = exchange.getProperty("callbackError", String.class);
        String description = exchange.getProperty("callbackErrorDescription", String.class);
        var message = exchange.getMessage();
        message.removeHeaders("*");
        headers(message);
        return switch (outcome.result()) {
            case "granted" -> {
                message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
                yield page("Consent recorded",
                        "<p>Thank you. Your organisation's consent has been recorded, and its mailboxes are being connected now.</p>"
                                + "<p>There is nothing more to do here: you can close this window.</p>");
            }
            case "denied" -> {
                message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
                yield page("Consent was declined",
                        "<p>Microsoft reported that consent was not given, so no mailboxes will be connected.</p>"
                                + "<p>Reason: <code>" + escape(error) + "</code>"
                                + (description == null || description.isBlank() ? "" : "<br>" + escape(description)) + "</p>"
                                + "<p>If this was not intended, ask the person who sent you the link for a new one, and sign in "
                                + "with an account that can grant admin consent for your organisation.</p>");
            }
            default -> {
                message.setHeader(Exchange.HTTP_RESPONSE_CODE, 400);
                yield page("This consent link is not valid",
                        "<p>The link is incomplete, has expired, or has been used already, so nothing was recorded.</p>"
                                + "<p>Ask the person who sent you the link for a new one.</p>");
            }
        };
    }

    /** The page when the answer could not be recorded (ledger away): the link still works later. */
    public String unavailable(Exchange exchange) {
        var message = exchange.getMessage();
        message.removeHeaders("*");
        headers(message);
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 503);
        message.setHeader("Retry-After", "60");
        return page("Please try again in a few minutes",
                "<p>Your answer could not be recorded just now. Nothing was lost: the link still works.</p>"
                        + "<p>Open the same link again in a few minutes.</p>");
    }

    private static void headers(org.apache.camel.Message message) {
        message.setHeader(Exchange.CONTENT_TYPE, "text/html; charset=utf-8");
        message.setHeader("Cache-Control", "no-store");
        message.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
        message.setHeader("X-Content-Type-Options", "nosniff");
        message.setHeader("Referrer-Policy", "no-referrer");
    }

    private static String page(String title, String body) {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                + "<title>" + title + "</title>"
                + "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}"
                + "h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .2rem;word-break:break-all}</style></head>"
                + "<body><h1>" + title + "</h1>" + body + "</body></html>\n";
    }

    /** Escapes text for HTML element content and attribute values. */
    public static String escape(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (char ch : text.toCharArray()) {
            switch (ch) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                case '/' -> out.append("&#47;");
                default -> {
                    if (ch < 0x20 && ch != '\n' && ch != '\t') {
                        out.append(' ');
                    } else {
                        out.append(ch);
                    }
                }
            }
        }
        return out.toString();
    }
}
