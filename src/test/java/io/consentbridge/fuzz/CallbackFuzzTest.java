package io.consentbridge.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import io.consentbridge.callback.CallbackPages;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Thousands of hostile GET requests to the public consent callback of the running application.
 * Every answer must be a page, never a server error; echoed text must be escaped; no stack trace
 * may leak; valid states must be neither consumed by near-misses nor usable twice.
 * Deterministic: the seed is printed and can be set with -Dfuzz.seed.
 */
class CallbackFuzzTest {
    static final long SEED = Long.getLong("fuzz.seed", 20260314L);
    static final int RANDOM_REQUESTS = Integer.getInteger("fuzz.callback.requests", 3000);
    static final int TENANTS = 20;
    static final int DENYING_TENANTS = 15;
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String PATH = "/nylas/admin-consent/callback";
    static final Set<Integer> ALLOWED = Set.of(200, 400, 404, 405, 414, 431);
    /** The whole URL stays below ~8 KB, so every request is one a browser could send. */
    static final int MAX_URL = 7900;
    /** Requests that carry a valid state stay well below common request-line limits, so they reach the route. */
    static final int MAX_ROUTED_URL = 3900;
    /** ConsentCallback.MAX_PARAM: longer error and error_description values are cut. */
    static final int MAX_PARAM = 2048;

    static final List<String> KNOWN_NAMES = List.of("state", "admin_consent", "error", "error_description",
            "error_code", "tenant", "scope", "session_state", "code", "error_uri", "trace_id", "correlation_id", "timestamp");
    static final List<String> ODD_NAMES = List.of("", "STATE", "State", "state[]", "state[0]", "state.x", "state ", " state",
            "state\u0000", "admin_consent\r\n", "CamelHttpResponseCode", "CamelHttpMethod", "CamelHttpUri", "CamelHttpPath",
            "Content-Type", "Content-Length", "Location", "Set-Cookie", "Transfer-Encoding", "Host", "__proto__",
            "constructor", "<script>", "\"><img src=x onerror=alert(1)>", "${header.state}", "%s", "../state", "\uD83D\uDE00");
    static final List<String> CONSENT_VALUES = List.of("true", "TRUE", "tRuE", "True", " true ", "false", "FALSE", "",
            "1", "yes", "on", "true\u0000", "ｔｒｕｅ", "tru", "truee", "null", "[true]", "true,true", "\ttrue\n");
    static final List<String> GRANT_VARIANTS = List.of("true", "TRUE", "tRuE", "True", " true ", "\ttrue\n");

    /** Raw query strings, written by hand; each is a valid URI query (java.net.URI accepts it). */
    static final List<String> RAW = List.of(
            "state=%00&admin_consent=true",
            "state=%0D%0ASet-Cookie:%20x=1&admin_consent=true",
            "admin_consent=true&state=%0D%0AX-Injected:%201%0D%0A%0D%0A",
            "admin_consent=true&state=%ED%A0%80%ED%B0%80",
            "admin_consent=true&state=%ED%A0%BD",
            "admin_consent=true&state=%C0%80",
            "admin_consent=true&state=%C0%AF%C0%AF",
            "admin_consent=true&state=%FF%FE%FD",
            "admin_consent=true&state=%E2%80",
            "admin_consent=true&state=%F8%88%80%80%80",
            "error=%ED%A0%80&error_description=%F4%90%80%80&state=x",
            "error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=x",
            "error=access_denied&error_description=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E&state=abc",
            "error=access_denied&error_description=javascript:alert(1)&state=abc",
            "error=%26%23x3C%3Bscript%26%23x3E%3B&state=x",
            "error=access_denied&error_description=%26lt%3Bscript%26gt%3B&state=x",
            "state=a&state=b&state=c&admin_consent=true&admin_consent=false",
            "error=&error=access_denied&state=x",
            "admin_consent=true;state=x",
            "admin_consent=true&state=x;error=access_denied",
            "admin_consent=TRUE&state=../../../../etc/passwd",
            "admin_consent=true&state=%2e%2e%2f%2e%2e%2fobserve%2fhealth",
            "state=%25s%25s%25n&error=%25x%25x",
            "state=%24%7Bjndi:ldap://127.0.0.1:1/a%7D&admin_consent=true",
            "state=%24%7Bbody%7D&error=%24%7Bheader.state%7D",
            "=&=&=",
            "&&&&",
            "===",
            "state",
            "admin_consent",
            "state&admin_consent&error",
            "%3D=%3D",
            "state='%20OR%201=1%20--&admin_consent=true",
            "admin_consent=true&state=%27%20OR%20%271%27=%271",
            "state[]=x&admin_consent[]=true",
            "state[0]=x&state[1]=y&error[]=access_denied",
            "CamelHttpResponseCode=500&admin_consent=true&state=x",
            "CamelHttpResponseCode=200&state=x",
            "CamelHttpMethod=POST&state=x&admin_consent=true",
            "Content-Type=application/json&state=x",
            "Location=http://evil.example/&state=x",
            "admin_consent=%74%72%75%65&state=x",
            "admin_consent=true%00&state=x",
            "admin_consent=%EF%BD%94%EF%BD%92%EF%BD%95%EF%BD%85&state=x",
            "error_description=%E2%80%AE%E2%80%8F&error=%F0%9F%98%80&state=x",
            "state=+++&admin_consent=+true+",
            "state=%2B%2B&admin_consent=true",
            "javascript:alert(1)",
            "admin_consent=true&state=javascript:alert(1)//",
            "%00=%00",
            "%0d%0a=%0d%0a",
            "a=b=c=d&state==x&admin_consent==true",
            "admin_consent=true&state=?&error=?",
            "error=access_denied&error_description=" + "A".repeat(3000) + "&state=x",
            "error=access_denied&error_description=" + "%3Cscript%3E".repeat(500) + "&state=x",
            "a=" + "%41".repeat(2300),
            "admin_consent=true&" + "x=1&".repeat(1500),
            "state=" + "x".repeat(257) + "&admin_consent=true",
            "state=" + "%F0%9F%98%80".repeat(300) + "&admin_consent=true");
    static final List<String> PATH_VARIANTS = List.of(PATH + "/", "/" + PATH, PATH + ";jsessionid=x", "/nylas/admin-consent/%63allback",
            PATH + "/..", PATH + "%00", PATH + "%2F..%2F..%2Fobserve%2Fhealth", "/NYLAS/admin-consent/callback", PATH + "/../callback",
            "/nylas/./admin-consent/callback", PATH + ".html", PATH + "%20", PATH + "/%2e%2e/%2e%2e/observe/health");
    /** Every tag the callback page template itself writes; anything else in a page was injected. */
    static final Set<String> PAGE_TAGS = Set.of("<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", "<title>", "</title>", "<style>", "</style>",
            "</head>", "<body>", "<h1>", "</h1>", "<p>", "</p>", "<code>", "</code>", "<br>", "</body>", "</html>");
    static final Pattern TAG = Pattern.compile("<[^<>]*>");
    static final Pattern DANGEROUS = Pattern.compile("(?i)<\\s*(script|img|svg|iframe|body\\s|meta\\s+http-equiv|a\\s)");
    static final Pattern TAG_WITH_HANDLER = Pattern.compile("(?i)<[^<>]*(\\son\\w+\\s*=|javascript:)[^<>]*>");
    static final List<String> STACK_TRACE = List.of("Exception", "at org.apache", "java.lang", "\tat ", "at io.vertx", "Caused by");

    enum Expect { INVALID, DENIED, GRANTED }

    record Probe(String label, String path, String query, Expect expect, String tenant, String error, String description) {
        static Probe invalid(String label, String query) {
            return new Probe(label, PATH, query, Expect.INVALID, null, null, null);
        }
    }

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void hostileCallbacksGetEscapedPagesAndNeverAServerError() {
        System.out.println("CallbackFuzzTest seed=" + SEED + " (-Dfuzz.seed=" + SEED + " to repeat)");
        long started = System.nanoTime();
        Random random = new Random(SEED);

        // Real states, one per tenant, each usable once.
        Map<String, String> states = onboard(TENANTS);
        List<Probe> plan = new ArrayList<>();
        for (int i = 0; i < RANDOM_REQUESTS; i++) {
            plan.add(randomProbe(random));
        }
        int denials = 0;
        int grants = 0;
        for (Map.Entry<String, String> tenant : states.entrySet()) {
            int index = denials + grants;
            boolean deny = index < DENYING_TENANTS;
            List<Probe> group = new ArrayList<>();
            group.add(nearMiss(random, tenant.getValue()));
            group.add(nearMiss(random, tenant.getValue()));
            group.add(deny ? denial(random, tenant.getKey(), tenant.getValue(), index) : grant(random, tenant.getKey(), tenant.getValue()));
            group.add(Probe.invalid("replay", (random.nextBoolean() ? "admin_consent=true" : "error=access_denied") + "&state=" + enc(tenant.getValue())));
            spread(random, plan, group);
            if (deny) {
                denials++;
            } else {
                grants++;
            }
        }
        System.out.printf("planned %d requests (%d random, %d with real states); onboarding took %d ms%n",
                plan.size(), RANDOM_REQUESTS, plan.size() - RANDOM_REQUESTS, (System.nanoTime() - started) / 1_000_000);

        Map<String, Integer> byStatus = new TreeMap<>();
        Map<String, Map<String, Integer>> byLabel = new TreeMap<>();
        List<String> violations = new ArrayList<>();
        long fuzzStarted = System.nanoTime();
        for (int i = 0; i < plan.size(); i++) {
            Probe probe = plan.get(i);
            URI uri = URI.create("http://localhost:" + bridge.httpPort + probe.path() + (probe.query() == null ? "" : "?" + probe.query()));
            String outcome;
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).GET().build(),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                outcome = String.valueOf(response.statusCode());
                for (String problem : check(probe, response)) {
                    violations.add("#" + i + " [" + probe.label() + "] " + response.statusCode() + ": " + problem + " | " + shorten(uri.toString()));
                }
            } catch (IOException e) {
                outcome = "io:" + e.getClass().getSimpleName();
                violations.add("#" + i + " [" + probe.label() + "] no answer: " + e + " | " + shorten(uri.toString()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            byStatus.merge(outcome, 1, Integer::sum);
            byLabel.computeIfAbsent(probe.label(), k -> new TreeMap<>()).merge(outcome, 1, Integer::sum);
        }
        long fuzzMillis = (System.nanoTime() - fuzzStarted) / 1_000_000;
        System.out.println("callback outcomes by status: " + byStatus);
        byLabel.forEach((label, counts) -> System.out.println("  " + label + ": " + counts));
        System.out.printf("%d requests in %d ms; %d violations%n", plan.size(), fuzzMillis, violations.size());
        violations.stream().limit(40).forEach(v -> System.out.println("VIOLATION " + v));

        // Exactly one outcome event per real state: the near misses and replays published nothing.
        checkEvents(plan, denials, grants, violations);

        // Still healthy, and an ordinary consent still goes through.
        assertThat(bridge.get(bridge.managementUri("/observe/health"), null).statusCode()).isEqualTo(200);
        String tenant = "fuzz-final";
        bridge.send("onboarding", tenant, "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant + "\",\"mailboxes\":[\"a@final.com\"]}");
        JsonNode issued = consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
        HttpResponse<String> page = bridge.consentVia(issued.path("data").path("consent_url").asText());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Consent recorded");
        results.awaitEvent(e -> "consent.granted".equals(e.path("type").asText()) && tenant.equals(e.path("subject").asText()), WAIT);
        System.out.printf("CallbackFuzzTest done in %d ms%n", (System.nanoTime() - started) / 1_000_000);

        assertThat(violations).as("fuzz violations (seed " + SEED + ")").isEmpty();
    }

    /** The checks themselves: quiet on a page the real template renders, loud on an injected one. */
    @Test
    void theChecksPassARenderedPageAndCatchAnInjectedOne() {
        String error = "access_denied<img src=x onerror=alert(1)>";
        String description = "\"><script>alert('x')</script> java.lang.Exception javascript:alert(1) \uD83D\uDE00\r\n";
        Probe probe = new Probe("self-test", PATH, "", Expect.DENIED, "t", error, description);
        var exchange = new org.apache.camel.support.DefaultExchange(new org.apache.camel.impl.DefaultCamelContext());
        exchange.setProperty("callbackError", error);
        exchange.setProperty("callbackErrorDescription", description);
        String page = new CallbackPages().render(io.consentbridge.consent.CallbackOutcome.denied("t"), exchange);
        Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        exchange.getMessage().getHeaders().forEach((name, value) -> {
            if (!name.startsWith("Camel")) {
                headers.put(name.toLowerCase(Locale.ROOT), List.of(String.valueOf(value)));
            }
        });
        assertThat(check(probe, new Answer(200, page, java.net.http.HttpHeaders.of(headers, (a, b) -> true)))).isEmpty();

        String injected = page.replace(expectedEscaped(description), description);
        assertThat(check(probe, new Answer(200, injected, java.net.http.HttpHeaders.of(headers, (a, b) -> true))))
                .anyMatch(p -> p.startsWith("tag not written by the page template"))
                .anyMatch(p -> p.startsWith("raw markup"))
                .anyMatch(p -> p.startsWith("the description is not shown escaped"))
                .anyMatch(p -> p.startsWith("stack trace fragment"));
        assertThat(check(Probe.invalid("self-test", ""), new Answer(200, page, java.net.http.HttpHeaders.of(headers, (a, b) -> true))))
                .contains("a request without a usable state was accepted");
        assertThat(check(Probe.invalid("self-test", ""), new Answer(503, "java.lang.IllegalStateException\n\tat org.apache.camel.X",
                java.net.http.HttpHeaders.of(Map.of(), (a, b) -> true))))
                .contains("status 503 not allowed").anyMatch(p -> p.startsWith("stack trace fragment"));
    }

    /** A canned answer for the self-test of the checks. */
    record Answer(int statusCode, String body, java.net.http.HttpHeaders headers) implements HttpResponse<String> {
        public HttpRequest request() {
            return null;
        }

        public java.util.Optional<HttpResponse<String>> previousResponse() {
            return java.util.Optional.empty();
        }

        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() {
            return java.util.Optional.empty();
        }

        public URI uri() {
            return URI.create("http://localhost" + PATH);
        }

        public HttpClient.Version version() {
            return HttpClient.Version.HTTP_1_1;
        }
    }

    // ---- checks ------------------------------------------------------------------------------

    static List<String> check(Probe probe, HttpResponse<String> response) {
        List<String> problems = new ArrayList<>();
        int status = response.statusCode();
        String body = response.body() == null ? "" : response.body();
        String contentType = response.headers().firstValue("content-type").orElse("");
        if (!ALLOWED.contains(status)) {
            problems.add("status " + status + " not allowed");
        }
        switch (probe.expect()) {
            case INVALID -> {
                if (status == 200) {
                    problems.add("a request without a usable state was accepted");
                }
                if (status == 400 && !body.contains("This consent link is not valid")) {
                    problems.add("400 without the invalid-link page");
                }
            }
            case GRANTED -> {
                if (status != 200 || !body.contains("Consent recorded")) {
                    problems.add("consent with a valid state was not recorded");
                }
            }
            case DENIED -> {
                if (status != 200 || !body.contains("Consent was declined")) {
                    problems.add("decline with a valid state was not recorded");
                } else {
                    problems.addAll(checkEcho(probe, body));
                }
            }
        }
        boolean html = contentType.toLowerCase(Locale.ROOT).contains("html") || body.contains("<html");
        boolean routePage = body.startsWith("<!DOCTYPE html>");
        if (routePage || status == 200 || (status == 400 && html)) {
            if (!contentType.toLowerCase(Locale.ROOT).startsWith("text/html")) {
                problems.add("HTML answer with Content-Type '" + contentType + "'");
            }
            if (!response.headers().firstValue("content-security-policy").orElse("").contains("default-src 'none'")) {
                problems.add("page without its Content-Security-Policy");
            }
            if (!"nosniff".equals(response.headers().firstValue("x-content-type-options").orElse(""))) {
                problems.add("page without X-Content-Type-Options: nosniff");
            }
            // The page says what became of an admin's consent: no browser or proxy keeps a copy (README, Security).
            if (routePage && !"no-store".equals(response.headers().firstValue("cache-control").orElse(""))) {
                problems.add("page without Cache-Control: no-store");
            }
            if (routePage && !"no-referrer".equals(response.headers().firstValue("referrer-policy").orElse(""))) {
                problems.add("page without Referrer-Policy: no-referrer");
            }
        }
        if (routePage) {
            Matcher tags = TAG.matcher(body);
            int tagCount = 0;
            while (tags.find()) {
                tagCount++;
                if (!PAGE_TAGS.contains(tags.group())) {
                    problems.add("tag not written by the page template: " + shorten(tags.group()));
                }
            }
            long opens = body.chars().filter(c -> c == '<').count();
            if (opens != tagCount) {
                problems.add("unescaped '<' outside the template's tags");
            }
        }
        if (DANGEROUS.matcher(body).find()) {
            problems.add("raw markup in the body: " + shorten(find(DANGEROUS, body)));
        }
        if (TAG_WITH_HANDLER.matcher(body).find()) {
            problems.add("event handler or javascript: inside a tag: " + shorten(find(TAG_WITH_HANDLER, body)));
        }
        String withoutEcho = body;
        if (probe.expect() == Expect.DENIED) {
            withoutEcho = withoutEcho.replace(expectedEscaped(probe.error()), "").replace(expectedEscaped(probe.description()), "");
        }
        for (String fragment : STACK_TRACE) {
            if (withoutEcho.contains(fragment)) {
                problems.add("stack trace fragment '" + fragment.trim() + "' in the body");
            }
        }
        for (String header : List.of("set-cookie", "x-injected", "location", "refresh")) {
            if (response.headers().firstValue(header).isPresent()) {
                problems.add("unexpected response header " + header);
            }
        }
        return problems;
    }

    /** The decline page shows the error and description escaped, never raw. */
    static List<String> checkEcho(Probe probe, String body) {
        List<String> problems = new ArrayList<>();
        String error = expectedEscaped(probe.error());
        if (!body.contains("<code>" + error + "</code>")) {
            problems.add("the error is not shown escaped: expected <code>" + shorten(error) + "</code>");
        }
        String shown = asServed(truncated(probe.description()));
        if (!shown.isBlank() && !body.contains("<br>" + expectedEscaped(probe.description()) + "</p>")) {
            problems.add("the description is not shown escaped: expected " + shorten(expectedEscaped(probe.description())));
        }
        if (shown.contains("<") && body.contains(shown)) {
            problems.add("the description is echoed raw");
        }
        return problems;
    }

    /** What the page shows for a sent value: cut as the callback cuts it, escaped, then as UTF-8 can carry it. */
    static String expectedEscaped(String sent) {
        return asServed(CallbackPages.escape(truncated(sent)));
    }

    /** As the callback cuts: at MAX_PARAM characters, one less where that would split a surrogate pair. */
    static String truncated(String sent) {
        if (sent == null || sent.length() <= MAX_PARAM) {
            return sent;
        }
        return sent.substring(0, Character.isHighSurrogate(sent.charAt(MAX_PARAM - 1)) ? MAX_PARAM - 1 : MAX_PARAM);
    }

    /** A lone surrogate, should one reach the answer, becomes '?' when the answer is encoded as UTF-8. */
    static String asServed(String text) {
        return text == null ? "" : new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }

    void checkEvents(List<Probe> plan, int denials, int grants, List<String> violations) {
        Map<String, Probe> used = new HashMap<>();
        plan.stream().filter(p -> p.expect() != Expect.INVALID).forEach(p -> used.put(p.tenant(), p));
        await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() ->
                results.events("consent.denied").size() >= denials && results.events("consent.granted").size() >= grants);
        // Every callback has been answered: once the outbox is empty, any stray event is on the topic.
        bridge.awaitPublished();
        List<JsonNode> denied = results.events("consent.denied");
        List<JsonNode> granted = results.events("consent.granted");
        System.out.printf("results: %d consent.denied (expected %d), %d consent.granted (expected %d)%n",
                denied.size(), denials, granted.size(), grants);
        if (denied.size() != denials) {
            violations.add("consent.denied events: " + denied.size() + ", expected " + denials);
        }
        if (granted.size() != grants) {
            violations.add("consent.granted events: " + granted.size() + ", expected " + grants);
        }
        for (JsonNode event : denied) {
            Probe probe = used.get(event.path("subject").asText());
            if (probe == null || probe.expect() != Expect.DENIED) {
                violations.add("consent.denied for a tenant that did not decline: " + event.path("subject").asText());
                continue;
            }
            JsonNode data = event.path("data");
            if (!asServed(truncated(probe.error())).equals(data.path("error").asText())) {
                violations.add("consent.denied of " + probe.tenant() + " has error " + shorten(data.path("error").asText()));
            }
            if (!asServed(truncated(probe.description())).equals(data.path("error_description").asText())) {
                String expected = asServed(truncated(probe.description()));
                String actual = data.path("error_description").asText();
                int at = 0;
                while (at < Math.min(expected.length(), actual.length()) && expected.charAt(at) == actual.charAt(at)) {
                    at++;
                }
                violations.add("consent.denied of " + probe.tenant() + " has error_description " + shorten(actual)
                        + " (expected " + expected.length() + " chars, got " + actual.length() + ", first difference at " + at
                        + ": expected " + (at < expected.length() ? (int) expected.charAt(at) : -1) + ", got " + (at < actual.length() ? (int) actual.charAt(at) : -1) + ")");
            }
        }
        for (JsonNode event : granted) {
            Probe probe = used.get(event.path("subject").asText());
            if (probe == null || probe.expect() != Expect.GRANTED) {
                violations.add("consent.granted for a tenant that did not consent: " + event.path("subject").asText());
            }
        }
    }

    // ---- generators --------------------------------------------------------------------------

    static Probe randomProbe(Random r) {
        int kind = r.nextInt(100);
        if (kind < 12) {
            return Probe.invalid("raw", Hostile.pick(r, RAW));
        }
        if (kind < 16) {
            return new Probe("path", Hostile.pick(r, PATH_VARIANTS), fit(structured(r, 3), PATH), Expect.INVALID, null, null, null);
        }
        if (kind < 20) {
            return Probe.invalid("empty", Hostile.pick(r, java.util.Arrays.asList(null, "", "&", "=", "?", "state=", "admin_consent=true",
                    "admin_consent=true&state=", "error=&state=", "error=+&admin_consent=false&state=")));
        }
        if (kind < 30) {
            String query = (r.nextBoolean() ? "admin_consent=" + enc(Hostile.pick(r, GRANT_VARIANTS)) : "error=access_denied&error_description=" + enc(Hostile.text(r)))
                    + "&state=" + enc(stateShaped(r)) + (r.nextBoolean() ? "&" + structured(r, 3) : "");
            return Probe.invalid("state-shaped", fit(query, PATH));
        }
        if (kind < 42) {
            String name = Hostile.pick(r, List.of("state", "error", "error_description", "tenant", "scope", "error_code", "x"));
            String query = (r.nextBoolean() ? "error=access_denied&" : "admin_consent=true&") + enc(name) + "=" + enc(Hostile.longText(r, 500 + r.nextInt(2501)));
            return Probe.invalid("long", fit(query, PATH));
        }
        return Probe.invalid("structured", fit(structured(r, 8), PATH));
    }

    /** Zero to {@code max} parameters, known or odd names, hostile values, sometimes repeated. */
    static String structured(Random r, int max) {
        List<String> pairs = new ArrayList<>();
        int count = r.nextInt(max + 1);
        for (int i = 0; i < count; i++) {
            String name = r.nextInt(4) == 0 ? Hostile.pick(r, ODD_NAMES) : Hostile.pick(r, KNOWN_NAMES);
            pairs.add(pair(r, name));
        }
        if (!pairs.isEmpty() && r.nextInt(5) == 0) {
            // Parameter pollution: state twice, error twice, or any repeated.
            String name = Hostile.pick(r, List.of("state", "error", "error_description", "admin_consent"));
            pairs.add(pair(r, name));
            pairs.add(r.nextInt(pairs.size() + 1), pair(r, name));
        }
        return String.join("&", pairs);
    }

    static String pair(Random r, String name) {
        if (r.nextInt(12) == 0) {
            return enc(name);
        }
        String value;
        int pick = r.nextInt(20);
        if (pick < 5) {
            value = enc(Hostile.pick(r, CONSENT_VALUES));
        } else if (pick < 7) {
            value = rawBytes(r);
        } else if (pick < 9) {
            value = enc(Hostile.unicode(r, 1 + r.nextInt(20)));
        } else if (pick < 10) {
            value = enc(Hostile.plain(r, r.nextInt(60)));
        } else if (pick < 11) {
            value = "";
        } else {
            value = enc(Hostile.text(r));
        }
        if (r.nextInt(10) == 0) {
            value = value.replace("+", "%20");
        }
        return enc(name) + "=" + value;
    }

    /** Percent-encoded byte garbage: overlong forms, CESU surrogates, truncated sequences, 0xFF. */
    static String rawBytes(Random r) {
        List<String> nasty = List.of("%C0%80", "%C0%AF", "%ED%A0%80", "%ED%BF%BF", "%E2%80", "%F8%88%80%80%80", "%FF", "%FE%FF",
                "%00", "%0D%0A", "%C3", "%F4%90%80%80", "%EF%BF%BE", "%E2%80%AE");
        StringBuilder out = new StringBuilder();
        int parts = 1 + r.nextInt(6);
        for (int i = 0; i < parts; i++) {
            if (r.nextBoolean()) {
                out.append(Hostile.pick(r, nasty));
            } else {
                out.append(String.format("%%%02X", r.nextInt(256)));
            }
        }
        return out.toString();
    }

    static String stateShaped(Random r) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        StringBuilder out = new StringBuilder();
        int length = r.nextInt(5) == 0 ? r.nextInt(300) : 43;
        for (int i = 0; i < length; i++) {
            out.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return out.toString();
    }

    /** A near miss of a real state: must be refused, and must not use the state up. */
    static Probe nearMiss(Random r, String state) {
        List<String> misses = new ArrayList<>(List.of(state.toUpperCase(Locale.ROOT), state.toLowerCase(Locale.ROOT), state + "A",
                state.substring(1), state.substring(0, state.length() - 1), state + "\u0000", " " + state, state + " ", state + state,
                state.replace('-', '+').replace('_', '/'), enc(enc(state) + "%"), new StringBuilder(state).reverse().toString(),
                "%" + state, state + "\r\n", state.charAt(0) == 'x' ? "y" + state.substring(1) : "x" + state.substring(1)));
        misses.removeIf(state::equals);
        String miss = Hostile.pick(r, misses);
        String query = "error=access_denied&error_description=" + enc(Hostile.text(r)) + "&state=" + enc(miss);
        return Probe.invalid("near-miss", query);
    }

    static Probe denial(Random r, String tenant, String state, int index) {
        String error = r.nextInt(3) == 0 ? "access_denied" : Hostile.text(r) + "_" + Hostile.plain(r, 4);
        String description = switch (index) {
            // Cut by the callback in the middle of a surrogate pair.
            case 0 -> "a".repeat(MAX_PARAM - 1) + "\uD83D\uDE00<script>alert(1)</script>";
            // Longer than the callback keeps, markup past the cut.
            case 1 -> "<img src=x onerror=alert(1)>" + "A".repeat(2500) + "<script>";
            case 2 -> "\"><img src=x onerror=alert(document.domain)> & AADSTS65004: ' OR 1=1 -- ${jndi:x} %s%n java.lang.Exception\n\tat org.apache.Foo";
            default -> r.nextBoolean() ? Hostile.text(r) : Hostile.longText(r, 50 + r.nextInt(1500));
        };
        List<String> parts = new ArrayList<>();
        parts.add("error=" + enc(error));
        parts.add("error_description=" + enc(description));
        parts.add("state=" + enc(state));
        Collections.shuffle(parts, r);
        for (String extra : List.of("error_code", "tenant", "scope", "admin_consent", "trace_id")) {
            if (r.nextBoolean()) {
                String value = extra.equals("admin_consent") ? "true" : Hostile.text(r);
                parts.add(r.nextInt(parts.size() + 1), enc(extra) + "=" + enc(value));
            }
        }
        if (r.nextInt(3) == 0) {
            // A second description after the first: the first one counts.
            parts.add(parts.indexOf("error_description=" + enc(description)) + 1, "error_description=" + enc("<script>second()</script>"));
        }
        String query = String.join("&", parts);
        while (urlLength(PATH, query) > MAX_ROUTED_URL && index > 1) {
            String shorter = Hostile.cut(description, description.length() * 3 / 4);
            query = query.replace("error_description=" + enc(description), "error_description=" + enc(shorter));
            description = shorter;
        }
        assertThat(urlLength(PATH, query)).as("routed probe length").isLessThanOrEqualTo(MAX_ROUTED_URL);
        return new Probe("real-state-denied", PATH, query, Expect.DENIED, tenant, error, description);
    }

    static Probe grant(Random r, String tenant, String state) {
        List<String> parts = new ArrayList<>();
        parts.add("admin_consent=" + enc(Hostile.pick(r, GRANT_VARIANTS)));
        parts.add("state=" + enc(state));
        parts.add("tenant=" + enc(Hostile.text(r)));
        parts.add("scope=" + enc(Hostile.text(r)));
        parts.add("error_description=" + enc(Hostile.text(r)));
        parts.add(Hostile.pick(r, List.of("error=", "error=+", "error=%09", "error_code=" + enc(Hostile.text(r)))));
        Collections.shuffle(parts, r);
        return new Probe("real-state-granted", PATH, fit(String.join("&", parts), PATH), Expect.GRANTED, tenant, null, null);
    }

    /** Inserts the group at random positions, keeping its order. */
    static void spread(Random r, List<Probe> plan, List<Probe> group) {
        int[] positions = new int[group.size()];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = r.nextInt(plan.size() + 1);
        }
        java.util.Arrays.sort(positions);
        for (int i = group.size() - 1; i >= 0; i--) {
            plan.add(positions[i], group.get(i));
        }
    }

    /** Drops trailing parameters, then cuts, until the URL fits; the cut never splits a %XX escape. */
    static String fit(String query, String path) {
        String q = query;
        while (urlLength(path, q) > MAX_URL && q.contains("&")) {
            q = q.substring(0, q.lastIndexOf('&'));
        }
        if (urlLength(path, q) > MAX_URL) {
            int end = q.length() - (urlLength(path, q) - MAX_URL);
            while (end > 0 && (q.charAt(end - 1) == '%' || (end > 1 && q.charAt(end - 2) == '%'))) {
                end--;
            }
            q = q.substring(0, end);
        }
        return q;
    }

    static int urlLength(String path, String query) {
        return "http://localhost:65535".length() + path.length() + 1 + (query == null ? 0 : query.length());
    }

    // ---- helpers -----------------------------------------------------------------------------

    /** Onboards tenants and returns each one's consent state. */
    static Map<String, String> onboard(int count) {
        Map<String, String> states = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            String tenant = "fuzz-cb-" + i;
            bridge.send("onboarding", tenant, "{\"request_id\":\"req-" + tenant + "\",\"tenant_id\":\"" + tenant
                    + "\",\"mailboxes\":[\"m@" + tenant + ".com\"]}");
        }
        consentUrls.awaitEvents("consent.url.issued", count, WAIT);
        for (JsonNode issued : consentUrls.events("consent.url.issued")) {
            states.put(issued.path("subject").asText(), queryParam(URI.create(issued.path("data").path("consent_url").asText()), "state"));
        }
        assertThat(states).hasSize(count);
        return states;
    }

    static String queryParam(URI uri, String name) {
        for (String pair : uri.getRawQuery().split("&")) {
            String[] kv = pair.split("=", 2);
            if (URLDecoder.decode(kv[0], StandardCharsets.UTF_8).equals(name)) {
                return URLDecoder.decode(kv[1], StandardCharsets.UTF_8);
            }
        }
        throw new AssertionError("no " + name + " in " + uri);
    }

    static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    static String find(Pattern pattern, String body) {
        Matcher m = pattern.matcher(body);
        return m.find() ? body.substring(m.start(), Math.min(body.length(), m.end() + 40)) : "";
    }

    static String shorten(String text) {
        String oneLine = text.replace("\r", "\\r").replace("\n", "\\n");
        return oneLine.length() <= 200 ? oneLine : oneLine.substring(0, 200) + "...(" + oneLine.length() + " chars)";
    }
}
