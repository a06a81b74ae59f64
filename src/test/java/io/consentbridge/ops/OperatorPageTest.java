package io.consentbridge.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.HeadlessChromium;
import io.consentbridge.support.Notifications;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The operator page (GET /operator on the management port) as an operator's browser shows it:
 * loaded in headless Chromium with the token as the Basic password, over tenants in several
 * states, one of them with a hostile id.
 */
class OperatorPageTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String SECRET = "whsec-operator-51c8";
    static final ObjectMapper JSON = new ObjectMapper();
    static final String HOSTILE = "<script>alert(\"x\")</script><img src=x onerror=alert(1)>'&amp;";
    static final int BULK = 200;

    @RegisterExtension
    static final BridgeUnderTest bridge = new BridgeUnderTest()
            .with("nylas.webhook-secret", SECRET)
            .with("reconcile.interval", "PT0S")
            // 200 mailboxes at 4 calls a second: the fan-out is still running while the page is looked at.
            .with("nylas.max-requests-per-second", "4");
    static final TopicReader urls = bridge.reader("consent-urls");
    static final TopicReader results = bridge.reader("results");
    static final HttpClient HTTP = HttpClient.newHttpClient();

    /** Tenants in several states: granted (hostile id), waiting for consent, needing reconsent, and one being granted now. */
    @BeforeAll
    static void tenants() throws Exception {
        onboard(HOSTILE, List.of("ada@hostile.example"), true);
        onboard("waiting-co", List.of("bob@waiting.example"), false);
        onboard("revoked-co", List.of("cy@revoked.example"), true);
        await().atMost(WAIT).until(() -> granted(HOSTILE) && granted("revoked-co"));

        // Consent revoked at Microsoft, then the grant expires: the restore fails and the operator is told.
        JsonNode created = results.awaitEvent(e -> e.path("type").asText().equals("grant.created") && e.path("subject").asText().equals("revoked-co"), WAIT);
        bridge.nylas.revokeConsent(created.path("data").path("credential_id").asText());
        bridge.nylas.expireGrant("cy@revoked.example");
        assertThat(Notifications.postSigned(bridge, Notifications.expired(created.path("data").path("grant_id").asText(), "cy@revoked.example"),
                SECRET).statusCode()).isEqualTo(200);
        results.awaitEvent(e -> e.path("type").asText().equals("tenant.attention_needed"), WAIT);

        onboard("bulk-co", IntStream.range(0, BULK).mapToObj(i -> "u" + i + "@bulk.example").toList(), true);
        await().atMost(WAIT).until(() -> status("bulk-co").path("progress").path("done").asInt() >= 4);
    }

    static void onboard(String tenant, List<String> mailboxes, boolean consent) throws Exception {
        Map<String, Object> request = Map.of("request_id", "req-" + Integer.toHexString(tenant.hashCode()), "tenant_id", tenant, "mailboxes", mailboxes);
        bridge.send("onboarding", tenant, JSON.writeValueAsString(request));
        String state = urls.awaitConsentState(tenant, WAIT);
        if (consent) {
            assertThat(bridge.get(bridge.callbackUri("admin_consent=true&state=" + state), null).statusCode()).isEqualTo(200);
        }
    }

    static JsonNode status(String tenant) throws Exception {
        String path = "/onboarding/" + java.net.URLEncoder.encode(tenant, StandardCharsets.UTF_8).replace("+", "%20");
        return JSON.readTree(bridge.get(bridge.managementUri(path), BridgeUnderTest.ADMIN_TOKEN).body());
    }

    static boolean granted(String tenant) throws Exception {
        return status(tenant).path("mailboxes").path("granted").asInt() == 1;
    }

    static URI page(String query, String credentials) {
        return URI.create("http://" + (credentials == null ? "" : credentials + "@") + "localhost:" + bridge.managementPort
                + "/operator" + (query == null ? "" : "?" + query));
    }

    static HttpResponse<String> get(URI uri, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** The text of one section of the page (by its id), from a serialised DOM. */
    static String section(String dom, String id) {
        int start = dom.indexOf("<section id=\"" + id + "\"");
        assertThat(start).as("section " + id).isNotNegative();
        return dom.substring(start, dom.indexOf("</section>", start));
    }

    @Test
    void chromiumShowsTheTenantsTheRunningFanOutAndWhoNeedsAttention() throws Exception {
        String dom = HeadlessChromium.dumpDom(page(null, "operator:" + BridgeUnderTest.ADMIN_TOKEN));

        String running = section(dom, "running");
        assertThat(running).contains("bulk-co").containsPattern("<progress value=\"\\d+\" max=\"" + BULK + "\">")
                .contains("grants/s").containsPattern("estimated end \\d\\d:\\d\\d:\\d\\d UTC \\(in ");
        String attention = section(dom, "attention");
        assertThat(attention).contains("Needs attention (1)").contains("revoked-co").contains("consent_revoked")
                .contains("needs_reconsent").contains("admin consent is missing or was revoked")
                .contains("\"tenant_id\":\"revoked-co\",\"command\":\"reconsent\"").contains(bridge.topic("commands"))
                .doesNotContain("bulk-co").doesNotContain("waiting-co");
        String tenants = section(dom, "tenants");
        assertThat(tenants).contains("Tenants (4)").contains("waiting-co").contains(">pending<").contains(">granted<")
                .contains("revoked-co").contains(">needs_reconsent<");
        Matcher bulkRow = Pattern.compile("<tr>\\s*<td class=\"id\">bulk-co</td>.*?</tr>", Pattern.DOTALL).matcher(tenants);
        assertThat(bulkRow.find()).as("a row for bulk-co").isTrue();
        assertThat(bulkRow.group()).containsPattern("<progress value=\"\\d+\" max=\"" + BULK + "\">");

        // The hostile id is text, escaped once, wherever it shows: no element was injected.
        assertThat(tenants).contains("&lt;script&gt;alert(\"x\")&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'&amp;amp;");
        assertThat(dom).doesNotContain("<script").doesNotContain("<img").doesNotContain("alert(1)>");
        // Nothing but the page itself: no script, image, stylesheet, frame or link to another origin.
        assertThat(dom).doesNotContainPattern("(?i)<[^>]*\\ssrc=").doesNotContainPattern("(?i)<link\\b").doesNotContainPattern("(?i)<iframe")
                .doesNotContainPattern("(?i)href=\"(?!/operator\\?)");
        assertThat(dom).doesNotContain(BridgeUnderTest.ADMIN_TOKEN);
    }

    @Test
    void theAnswerLoadsNothingElseAndIsNotCached() throws Exception {
        HttpResponse<String> answer = get(page(null, null), basic("anyone", BridgeUnderTest.ADMIN_TOKEN));
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(answer.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(answer.headers().firstValue("Cache-Control")).hasValue("no-store");
        assertThat(answer.headers().firstValue("Referrer-Policy")).hasValue("no-referrer");
        String csp = answer.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertThat(csp).startsWith("default-src 'none'; ").contains("frame-ancestors 'none'").doesNotContain("unsafe");
        // The one inline style is allowed by its hash, nothing else by any source.
        Matcher style = Pattern.compile("<style>(.*?)</style>", Pattern.DOTALL).matcher(answer.body());
        assertThat(style.find()).isTrue();
        assertThat(csp).contains("style-src 'sha256-" + OperatorPage.sha256(style.group(1)) + "'");
        assertThat(answer.body()).doesNotContainPattern("(?i)(src|href|action)=\"(https?:)?//").doesNotContain("<script")
                .doesNotContain(BridgeUnderTest.ADMIN_TOKEN);

        // Bearer works too, for scripts.
        assertThat(get(page(null, null), "Bearer " + BridgeUnderTest.ADMIN_TOKEN).statusCode()).isEqualTo(200);
    }

    @Test
    void withoutTheTokenTheBrowserIsAskedForIt() throws Exception {
        for (String authorization : new String[]{null, basic("operator", "wrong"), basic("operator", BridgeUnderTest.ADMIN_TOKEN + "x"),
                "Basic not-base64!", basic(BridgeUnderTest.ADMIN_TOKEN, ""), "Bearer wrong", BridgeUnderTest.ADMIN_TOKEN}) {
            HttpResponse<String> answer = get(page(null, null), authorization);
            assertThat(answer.statusCode()).as(String.valueOf(authorization)).isEqualTo(401);
            assertThat(answer.headers().firstValue("WWW-Authenticate")).hasValue("Basic realm=\"Consent Bridge\", charset=\"UTF-8\"");
            assertThat(answer.body()).doesNotContain("revoked-co");
        }
        // A browser without the password sees no tenant either.
        assertThat(HeadlessChromium.dumpDom(page(null, null))).doesNotContain("revoked-co").doesNotContain("<table");
    }

    @Test
    void theTableFiltersByStateAndPages() throws Exception {
        String auth = basic("operator", BridgeUnderTest.ADMIN_TOKEN);
        String reconsent = get(page("status=needs_reconsent", null), auth).body();
        assertThat(section(reconsent, "tenants")).contains("Tenants (1)").contains("revoked-co").doesNotContain("bulk-co")
                .contains("<option value=\"needs_reconsent\" selected>");

        String first = get(page("limit=2", null), auth).body();
        assertThat(section(first, "tenants")).contains("1-2 of 4").contains("href=\"/operator?limit&#61;2&amp;offset&#61;2\">next<")
                .doesNotContain(">previous<");
        String second = get(page("limit=2&offset=2", null), auth).body();
        assertThat(section(second, "tenants")).contains("3-4 of 4").contains("href=\"/operator?limit&#61;2&amp;offset&#61;0\">previous<");

        for (String bad : new String[]{"limit=0", "limit=501", "offset=-1", "limit=x", "status=%3Cscript%3E"}) {
            HttpResponse<String> answer = get(page(bad, null), auth);
            assertThat(answer.statusCode()).as(bad).isEqualTo(400);
            assertThat(answer.body()).doesNotContain("<script");
        }
    }

    @Test
    void withoutAdminTokenThereIsNoPage() {
        try (BridgeUnderTest closed = new BridgeUnderTest().with("admin.token", "").start()) {
            HttpResponse<String> answer = closed.get(closed.managementUri("/operator"), null);
            assertThat(answer.statusCode()).isEqualTo(404);
            assertThat(closed.get(closed.managementUri("/operator"), "anything").statusCode()).isEqualTo(404);
        }
    }

    /** Leaves a screenshot of the page under target/ for a human to look at (the test asserts nothing of the pixels). */
    @Test
    void aScreenshotForPeople() throws Exception {
        Path png = Path.of("target", "operator-page.png");
        Files.createDirectories(png.getParent());
        HeadlessChromium.screenshot(page(null, "operator:" + BridgeUnderTest.ADMIN_TOKEN), png);
        assertThat(png).isNotEmptyFile();
    }
}
