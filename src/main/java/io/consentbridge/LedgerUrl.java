package io.consentbridge;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JDBC URL with any {@code password} parameter taken out: PostgreSQL's {@code ?password=} /
 * {@code &password=} and H2's {@code ;PASSWORD=}, in any case.
 */
record LedgerUrl(String url, String password) {
    private static final Pattern PASSWORD = Pattern.compile("(?i)([?&;])password=([^&;]*)");

    static LedgerUrl split(String url) {
        Matcher m = PASSWORD.matcher(url);
        if (!m.find()) {
            return new LedgerUrl(url, null);
        }
        String password = m.group(2);
        StringBuilder rest = new StringBuilder(url.substring(0, m.start()));
        String after = url.substring(m.end());
        if (m.group(1).equals("?")) {
            // Keep the query's other parameters: the next '&' becomes the '?'.
            after = after.startsWith("&") ? "?" + after.substring(1) : after;
        }
        rest.append(after);
        return new LedgerUrl(split(rest.toString()).url(), password);
    }
}
