package io.consentbridge;

import io.consentbridge.nylas.NylasRateBudget;

import java.io.IOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Checks every setting before anything starts (contract §1): all problems at once, one line each,
 * naming the environment variable and the property, the value (a secret's never) and what is
 * expected. Warnings (a value that works but is probably not meant) are reported apart.
 */
public final class SettingsCheck {
    /** Kafka's rule for topic names (a topic of only dots is refused too). */
    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    /**
     * H2's setting that lets other processes open the same file (through a server the first one
     * starts), in every spelling H2 reads as true (org.h2.util.Utils.parseBoolean: true, yes, t, y, 1).
     */
    private static final Pattern AUTO_SERVER = Pattern.compile(";\\s*AUTO_SERVER\\s*=\\s*(TRUE|YES|T|Y|1)\\s*(;|$)", Pattern.CASE_INSENSITIVE);
    private static final Pattern ASCII_INTEGER = Pattern.compile("[+-]?[0-9]{1,10}");
    private static final Set<String> SECRETS = Set.of("nylas.api-key", "admin.token", "ledger.password", "nylas.webhook-secret");
    /** Nylas allows 50 requests per second per application (reference §6). */
    static final int NYLAS_LIMIT = 50;

    /** What the check found. */
    public record Result(List<String> problems, List<String> warnings) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private final Function<String, String> value;
    private final boolean demo;
    private final List<String> problems = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    private SettingsCheck(Function<String, String> value, boolean demo) {
        this.value = value;
        this.demo = demo;
    }

    /** @param overrides the settings that win over application.properties (the environment's, a test's) */
    public static Result check(Map<String, String> overrides, boolean demo) {
        SettingsCheck check = new SettingsCheck(key -> Settings.effective(key, overrides), demo);
        check.run();
        return new Result(List.copyOf(check.problems), List.copyOf(check.warnings));
    }

    private void run() {
        if (!demo) {
            required("nylas.api-key", "the Nylas application's API key");
            required("nylas.client-id", "the Nylas application's client id");
        }
        String api = value.apply("nylas.api-uri");
        URI apiUri = url("nylas.api-uri", true);
        if (apiUri != null && !"https".equalsIgnoreCase(apiUri.getScheme()) && !loopback(apiUri.getHost())) {
            problem("nylas.api-uri", api, "https (plain http only for a loopback address such as http://127.0.0.1:8090)");
        }
        url("consent.redirect-uri", true);
        brokers();
        Integer http = port("camel.server.port");
        Integer management = port("camel.management.port");
        if (http != null && management != null && http.equals(management) && http != 0) {
            problem("camel.management.port", String.valueOf(management), "a port other than HTTP_PORT's " + http);
        }
        notBlank("camel.management.host", "an interface address such as 127.0.0.1 or 0.0.0.0");
        Duration ttl = duration("consent.ttl", "an ISO-8601 duration such as P7D or PT12H");
        if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
            problem("consent.ttl", value.apply("consent.ttl"), "a positive duration such as P7D");
        }
        duration("nylas.retry.max-retry-after", "an ISO-8601 duration such as PT60S");
        Duration sweep = duration("reconcile.interval", "an ISO-8601 duration such as PT24H (PT0S: no periodic sweep)");
        if (sweep != null && sweep.isNegative()) {
            problem("reconcile.interval", value.apply("reconcile.interval"), "a duration of zero or more, such as PT24H");
        }
        duration("webhooks.remember", "an ISO-8601 duration such as P2D");
        duration("instances.leave-after", "an ISO-8601 duration such as PT3S");
        String fill = value.apply("nylas.rate-budget.fill");
        if (fill != null && !fill.isBlank()) {
            double f;
            try {
                f = Double.parseDouble(fill.trim());
            } catch (NumberFormatException e) {
                f = Double.NaN;
            }
            if (!NylasRateBudget.validFill(f)) {
                problem("nylas.rate-budget.fill", fill, "a number from 0.5 to 1, such as 0.92");
            }
        }
        Duration warmUp = duration("nylas.rate-budget.warm-up", "an ISO-8601 duration such as PT10S (PT0S: no warm-up)");
        if (warmUp != null && warmUp.isNegative()) {
            problem("nylas.rate-budget.warm-up", value.apply("nylas.rate-budget.warm-up"), "a duration of zero or more, such as PT10S");
        }
        String logFormat = value.apply("log.format");
        if (logFormat != null && !logFormat.isBlank() && !logFormat.trim().equals("text") && !logFormat.trim().equals("json")) {
            problem("log.format", logFormat, "text or json");
        }
        Duration warning = duration("credential.secret-expiry-warning", "an ISO-8601 duration such as P14D");
        if (warning != null && warning.isNegative()) {
            problem("credential.secret-expiry-warning", value.apply("credential.secret-expiry-warning"), "a duration of zero or more, such as P14D");
        }
        duration("ledger.sharing-check-interval", "an ISO-8601 duration such as PT15S");
        duration("health.check-interval", "an ISO-8601 duration such as PT1S");
        duration("grants.commit-linger", "an ISO-8601 duration such as PT0.06S");
        Integer rps = positive("nylas.max-requests-per-second");
        if (rps != null && rps > NYLAS_LIMIT) {
            warn("nylas.max-requests-per-second", String.valueOf(rps), "Nylas allows " + NYLAS_LIMIT
                    + " requests per second per application; more is answered with 429");
        }
        for (String key : List.of("ledger.pool-size", "ledger.callback-pool-size", "grants.consumers", "grants.claim-interval-ms", "onboarding.concurrency", "commands.concurrency",
                "outbox.batch-size", "outbox.poll-interval-ms", "consent.expiry-check-interval-ms",
                "nylas.retry.initial-delay-ms", "nylas.retry.max-delay-ms")) {
            positive(key);
        }
        nonNegative("nylas.retry.max-redeliveries");
        nonNegative("ledger.idle-rounds-skipped");
        ledgerUrl();
        topics();
        routesDir();
        bool("routes.reload");
    }

    // ---- the rules -------------------------------------------------------------------------------

    private void required(String key, String what) {
        if (blank(value.apply(key))) {
            problem(key, null, what + " (required; or run with --demo to try the bundle with Nylas simulated)");
        }
    }

    private void notBlank(String key, String expected) {
        if (blank(value.apply(key))) {
            problem(key, null, expected);
        }
    }

    private URI url(String key, boolean required) {
        String text = value.apply(key);
        if (blank(text)) {
            if (required) {
                problem(key, null, "an absolute URL");
            }
            return null;
        }
        try {
            URI uri = new URI(text);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!uri.isAbsolute() || uri.getHost() == null || !(scheme.equals("http") || scheme.equals("https"))) {
                problem(key, text, "an absolute http(s) URL such as https://host/path");
                return null;
            }
            return uri;
        } catch (Exception e) {
            problem(key, text, "an absolute http(s) URL such as https://host/path");
            return null;
        }
    }

    private void brokers() {
        String text = value.apply("camel.component.kafka.brokers");
        if (blank(text)) {
            return; // the embedded broker
        }
        for (String broker : text.split(",")) {
            String b = broker.trim();
            int colon = b.lastIndexOf(':');
            boolean ok = colon > 0 && colon < b.length() - 1 && !b.contains("://");
            if (ok) {
                try {
                    String digits = b.substring(colon + 1);
                    int port = ASCII_INTEGER.matcher(digits).matches() ? Integer.parseInt(digits) : -1;
                    ok = port > 0 && port <= 65535;
                } catch (NumberFormatException e) {
                    ok = false;
                }
            }
            if (!ok) {
                problem("camel.component.kafka.brokers", text, "a comma-separated list of host:port (such as kafka-1:9092,kafka-2:9092)");
                return;
            }
        }
    }

    private Integer port(String key) {
        String text = value.apply(key);
        Integer port = integer(key, text, "a port number from 0 to 65535");
        if (port != null && (port < 0 || port > 65535)) {
            problem(key, text, "a port number from 0 to 65535");
            return null;
        }
        return port;
    }

    private Integer positive(String key) {
        String text = value.apply(key);
        Integer n = integer(key, text, "a positive whole number");
        if (n != null && n <= 0) {
            problem(key, text, "a positive whole number");
            return null;
        }
        return n;
    }

    private void nonNegative(String key) {
        String text = value.apply(key);
        Integer n = integer(key, text, "a whole number, 0 or more");
        if (n != null && n < 0) {
            problem(key, text, "a whole number, 0 or more");
        }
    }

    private Integer integer(String key, String text, String expected) {
        if (blank(text)) {
            problem(key, null, expected);
            return null;
        }
        // ASCII digits only: Integer.parseInt would also take other scripts' digits (such as "١").
        if (!ASCII_INTEGER.matcher(text.trim()).matches()) {
            problem(key, text, expected);
            return null;
        }
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            problem(key, text, expected);
            return null;
        }
    }

    private Duration duration(String key, String expected) {
        String text = value.apply(key);
        if (blank(text)) {
            problem(key, null, expected);
            return null;
        }
        try {
            return Duration.parse(text.trim());
        } catch (DateTimeParseException e) {
            problem(key, text, expected);
            return null;
        }
    }

    private void bool(String key) {
        String text = value.apply(key);
        if (!blank(text) && !text.equalsIgnoreCase("true") && !text.equalsIgnoreCase("false")) {
            problem(key, text, "true or false");
        }
    }

    private void ledgerUrl() {
        String text = value.apply("ledger.url");
        if (blank(text)) {
            problem("ledger.url", null, "a JDBC URL: jdbc:h2:file:... (one instance) or jdbc:postgresql://host/db (several)");
        } else if (!text.startsWith("jdbc:h2:") && !text.startsWith("jdbc:postgresql:")) {
            problem("ledger.url", LedgerUrl.split(text).url(), "a JDBC URL of a supported database: jdbc:h2:... or jdbc:postgresql://host/db");
        } else if (sharedH2(text)) {
            // An H2 ledger is taken as this process's own (its heartbeat is written once, its rate
            // budget kept in memory): an instance on a shared one would take over another's work.
            problem("ledger.url", LedgerUrl.split(text).url(), "an H2 ledger of this process's own (jdbc:h2:file:... or jdbc:h2:mem:...,"
                    + " not through an H2 server: tcp:, ssl:, AUTO_SERVER); several instances share jdbc:postgresql://host/db");
        }
    }

    /** An H2 URL that other processes can open at the same time: through an H2 server, or a file with AUTO_SERVER. */
    private static boolean sharedH2(String url) {
        String lower = url.toLowerCase(Locale.ROOT);
        return lower.startsWith("jdbc:h2:tcp:") || lower.startsWith("jdbc:h2:ssl:") || AUTO_SERVER.matcher(url).find();
    }

    private void topics() {
        Map<String, String> seen = new HashMap<>();
        for (String key : List.of("topics.onboarding", "topics.mailboxes", "topics.consent-urls", "topics.results", "topics.dlq",
                "topics.commands")) {
            String topic = value.apply(key);
            if (blank(topic) || !TOPIC.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
                problem(key, topic, "a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -");
            } else if (seen.containsKey(topic)) {
                problem(key, topic, "a topic of its own (" + name(seen.get(topic)) + " names it too)");
            } else {
                seen.put(topic, key);
            }
        }
    }

    private void routesDir() {
        String dir = value.apply("routes.dir");
        if (blank(dir)) {
            return;
        }
        Path path = Path.of(dir);
        if (!Files.isDirectory(path)) {
            problem("routes.dir", dir, "a folder that exists (" + path.toAbsolutePath() + " does not)");
            return;
        }
        try (DirectoryStream<Path> routes = Files.newDirectoryStream(path, "*.camel.yaml")) {
            if (!routes.iterator().hasNext()) {
                problem("routes.dir", dir, "a folder holding *.camel.yaml route files (it has none)");
            }
        } catch (IOException e) {
            problem("routes.dir", dir, "a readable folder (" + e.getMessage() + ")");
        }
    }

    // ---- reporting -------------------------------------------------------------------------------

    private void problem(String key, String given, String expected) {
        problems.add(line(key, given, expected));
    }

    private void warn(String key, String given, String note) {
        warnings.add(name(key) + " = \"" + oneLine(given) + "\": " + note);
    }

    /** {@code CONSENT_TTL (consent.ttl) = "abc": expected an ISO-8601 duration such as P7D}. */
    static String line(String key, String given, String expected) {
        String shown = given == null ? "not set" : "= \"" + (SECRETS.contains(key) ? "***" : oneLine(given)) + "\"";
        return name(key) + " " + shown + ": expected " + expected;
    }

    static String name(String key) {
        String variable = ENV_OF.get(key);
        return variable == null ? key : variable + " (" + key + ")";
    }

    private static final Map<String, String> ENV_OF = new LinkedHashMap<>();

    static {
        Settings.ENVIRONMENT.forEach((variable, key) -> ENV_OF.put(key, variable));
    }

    private static String oneLine(String text) {
        String cut = text.length() > 200 ? text.substring(0, 200) + "..." : text;
        StringBuilder out = new StringBuilder();
        for (char c : cut.toCharArray()) {
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        return out.toString();
    }

    private static boolean blank(String text) {
        return text == null || text.isBlank();
    }

    static boolean loopback(String host) {
        if (host == null) {
            return false;
        }
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.startsWith("127.") || h.equals("[::1]") || h.equals("::1");
    }
}
