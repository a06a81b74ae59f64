package io.consentbridge.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.Mustache;
import com.github.mustachejava.resolver.ClasspathResolver;
import io.consentbridge.ledger.ConsentLedger;
import io.consentbridge.ledger.TenantOverview;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.main.ManagementHttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code GET /operator} on the management port: the tenants, their state, a progress bar per
 * running fan-out and the tenants that need an operator, as one server-side HTML page (Mustache,
 * HTML-escaped; templates/operator.mustache). Behind {@code ADMIN_TOKEN} as HTTP Basic password or
 * Bearer token; not there at all (404) without one. The page loads nothing and runs no script: its
 * Content-Security-Policy allows only its own inline style, by hash.
 */
public class OperatorPage {
    private static final Logger LOG = LoggerFactory.getLogger(OperatorPage.class);
    static final String PATH = "/operator";
    /** The consent states a tenant can be in (ledger column consent_status), for the filter. */
    static final List<String> STATUSES = List.of("issuing", "pending", "granted", "denied", "expired", "failed",
            "needs_reconsent", "needs_secret_rotation", "offboarding", "offboarded");
    private static final int ATTENTION_SHOWN = 100;
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    private final ConsentLedger ledger;
    private final TenantOverview overview;
    private final ObjectMapper mapper;
    private final AdminCredentials credentials;
    private final String commandTopic;
    private final Mustache template;
    private final String css;
    private final String contentSecurityPolicy;

    public OperatorPage(ConsentLedger ledger, TenantOverview overview, ObjectMapper mapper, String adminToken, String commandTopic) {
        this.ledger = ledger;
        this.overview = overview;
        this.mapper = mapper;
        this.credentials = new AdminCredentials(adminToken);
        this.commandTopic = commandTopic;
        // From the jar only (not a templates/ folder in the working directory). DefaultMustacheFactory escapes
        // every {{value}} for HTML; only {{{css}}}, the page's own stylesheet, is not.
        this.template = new DefaultMustacheFactory(new ClasspathResolver("templates")).compile("operator.mustache");
        this.css = resource("templates/operator.css");
        this.contentSecurityPolicy = "default-src 'none'; style-src 'sha256-" + sha256(css) + "'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    }

    /** Adds the page to the management server's router, if a token is configured. */
    public void mount(CamelContext context) {
        if (!credentials.configured()) {
            LOG.info("ADMIN_TOKEN is not set: the operator page is off");
            return;
        }
        ManagementHttpServer server = context.hasService(ManagementHttpServer.class);
        if (server == null) {
            LOG.warn("no management server (camel.management.enabled=false): the operator page is off");
            return;
        }
        server.getRouter().route(HttpMethod.GET, PATH).blockingHandler(this::handle);
    }

    void handle(RoutingContext ctx) {
        HttpServerResponse response = ctx.response();
        response.putHeader("Content-Security-Policy", contentSecurityPolicy)
                .putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("Cache-Control", "no-store")
                .putHeader("Referrer-Policy", "no-referrer");
        if (!credentials.bearerOrBasic(ctx.request().getHeader("Authorization"))) {
            // The browser asks for a password: any user name, ADMIN_TOKEN as the password.
            response.putHeader("WWW-Authenticate", "Basic realm=\"Consent Bridge\", charset=\"UTF-8\"");
            text(ctx, 401, "Sign in with any user name and ADMIN_TOKEN as the password (or send Authorization: Bearer <ADMIN_TOKEN>).");
            return;
        }
        String status = ctx.request().getParam("status");
        if (status != null && status.isEmpty()) {
            status = null;
        }
        Integer limit = number(ctx.request().getParam("limit"), 50);
        Integer offset = number(ctx.request().getParam("offset"), 0);
        if (limit == null || offset == null || limit < 1 || limit > 500 || offset < 0 || (status != null && !STATUSES.contains(status))) {
            text(ctx, 400, "limit 1-500, offset 0 or more, status one of " + String.join(", ", STATUSES));
            return;
        }
        String html;
        try {
            html = render(status, limit, offset);
        } catch (RuntimeException e) {
            LOG.warn("operator page failed: {}", e.getMessage());
            text(ctx, 503, "The ledger is not reachable; try again in a moment.");
            return;
        }
        response.setStatusCode(200).putHeader("Content-Type", "text/html; charset=utf-8").end(html);
    }

    String render(String status, int limit, int offset) {
        Instant now = Instant.now();
        Map<String, Object> list = ledger.tenants(status, limit, offset);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tenants = (List<Map<String, Object>>) list.get("tenants");
        long total = ((Number) list.get("total")).longValue();
        Map<String, Map<String, Long>> counts = overview.mailboxCounts(tenants.stream().map(t -> (String) t.get("tenant_id")).toList());
        Map<String, Progress> running = ledger.runningFanOuts().stream()
                .collect(Collectors.toMap(ConsentLedger.FanOut::tenantId, f -> Progress.of(f, now), (a, b) -> a, java.util.LinkedHashMap::new));

        List<TenantRow> rows = new ArrayList<>();
        for (Map<String, Object> tenant : tenants) {
            String id = (String) tenant.get("tenant_id");
            Map<String, Long> c = counts.get(id);
            rows.add(new TenantRow(id, (String) tenant.get("consent_status"), c.get("granted"), c.get("failed"), c.get("pending"),
                    c.get("expired"), c.get("deleted"), shortTime(Instant.parse((String) tenant.get("updated_at"))), running.get(id)));
        }
        List<AttentionRow> attention = overview.needingAttention(ATTENTION_SHOWN).stream().map(this::attentionRow).toList();
        long attentionTotal = attention.size() < ATTENTION_SHOWN ? attention.size() : overview.attentionCount();

        Function<Integer, String> pageAt = at -> PATH + "?" + (status == null ? "" : "status=" + URLEncoder.encode(status, StandardCharsets.UTF_8) + "&")
                + "limit=" + limit + "&offset=" + at;
        Page page = new Page(css, shortTime(now), List.copyOf(running.values()), attention, attentionTotal,
                attentionTotal > attention.size() ? Long.valueOf(attentionTotal - attention.size()) : null,
                STATUSES.stream().map(s -> new StatusOption(s, s.equals(status))).toList(), status == null,
                rows, total, rows.isEmpty() ? 0 : offset + 1, offset + rows.size(),
                offset > 0 ? pageAt.apply(Math.max(0, offset - limit)) : null,
                offset + rows.size() < total ? pageAt.apply(offset + limit) : null);
        StringWriter out = new StringWriter();
        template.execute(out, page);
        return out.toString();
    }

    private AttentionRow attentionRow(TenantOverview.Attention a) {
        Cause cause = Cause.of(a.cause());
        String command = null;
        if (cause.action != null) {
            ObjectNode record = mapper.createObjectNode()
                    .put("request_id", "op-" + UUID.randomUUID().toString().substring(0, 8))
                    .put("tenant_id", a.tenantId())
                    .put("command", cause.action);
            if (cause.action.equals("rotate_secret")) {
                record.put("client_id", "<azure app id>").put("client_secret", "<new client secret>");
            }
            command = record.toString();
        }
        return new AttentionRow(a.tenantId(), a.cause(), a.consentStatus(), a.expiredMailboxes(), shortTime(a.since()),
                cause.explanation, cause.action, cause.fix, command, commandTopic);
    }

    /** What each attention cause (ExpiryCause's tenant-wide ones) means, and the command that fixes it. */
    enum Cause {
        CONSENT_REVOKED("The tenant's admin consent is missing or was revoked in Microsoft Entra ID: its expired grants cannot be restored.",
                "reconsent", "Send reconsent and pass the fresh consent link (consent.url.issued, reason reconsent) to the tenant's admin; once the admin consents, every expired mailbox is granted again."),
        SECRET_INVALID("The client secret of the tenant's own Azure app is wrong or has expired.",
                "rotate_secret", "Create a new client secret in the tenant's Azure app and send it with rotate_secret; the expired mailboxes are then restored."),
        UNKNOWN("Restoring an expired grant failed for a reason the bridge does not recognise.",
                null, "Read the error of the tenant.attention_needed event on the results topic; fix it at its source, then send reconsent or rotate_secret.");

        final String explanation;
        final String action;
        final String fix;

        Cause(String explanation, String action, String fix) {
            this.explanation = explanation;
            this.action = action;
            this.fix = fix;
        }

        static Cause of(String cause) {
            return switch (cause) {
                case "consent_revoked" -> CONSENT_REVOKED;
                case "secret_invalid" -> SECRET_INVALID;
                default -> UNKNOWN;
            };
        }
    }

    // ---- what the template shows (templates/operator.mustache) ---------------------------------

    /** {@code attentionNotShown}, {@code previous}, {@code next}: null when there is none (the template's sections then stay empty). */
    public record Page(String css, String generatedAt, List<Progress> running, List<AttentionRow> attention, long attentionTotal,
                       Long attentionNotShown, List<StatusOption> statuses, boolean allStatuses, List<TenantRow> tenants, long total,
                       long first, long last, String previous, String next) {
    }

    public record StatusOption(String value, boolean selected) {
    }

    public record TenantRow(String tenantId, String consentStatus, long granted, long failed, long pending, long expired, long deleted,
                            String updatedAt, Progress progress) {
    }

    public record AttentionRow(String tenantId, String cause, String consentStatus, long expiredMailboxes, String since,
                               String explanation, String action, String fix, String command, String commandTopic) {
    }

    /** A running fan-out as the page shows it: the bar's value, the pace and the estimated end. */
    public record Progress(String tenantId, long done, long total, long percent, String pace, String estimatedEnd) {
        static Progress of(ConsentLedger.FanOut f, Instant now) {
            String end = f.estimatedEnd() == null ? "not known yet"
                    : CLOCK.format(f.estimatedEnd()) + " (in " + remaining(Duration.between(now, f.estimatedEnd())) + ")";
            return new Progress(f.tenantId(), f.done(), f.total(), f.total() == 0 ? 0 : f.done() * 100 / f.total(), f.pace(), end);
        }
    }

    static String remaining(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return s / 60 + " min " + s % 60 + " s";
        }
        return s / 3600 + " h " + s % 3600 / 60 + " min";
    }

    private static String shortTime(Instant instant) {
        return instant == null ? "" : instant.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /** As the status endpoint reads it, except that an empty field (a submitted form's) counts as absent. */
    private static Integer number(String text, int otherwise) {
        return TenantStatusEndpoint.number(text == null || text.isEmpty() ? null : text, otherwise);
    }

    private static void text(RoutingContext ctx, int status, String message) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(message + "\n");
    }

    private static String resource(String name) {
        try (InputStream in = OperatorPage.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(String text) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
