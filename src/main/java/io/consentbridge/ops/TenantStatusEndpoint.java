package io.consentbridge.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.ledger.ConsentLedger;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.main.ManagementHttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;

/**
 * {@code GET /onboarding/{tenant_id}} on the management port (contract §3), for operators and
 * upstream systems. Needs {@code Authorization: Bearer <ADMIN_TOKEN>}, compared in constant time;
 * with no token configured the endpoint is not there at all (404).
 */
public class TenantStatusEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(TenantStatusEndpoint.class);
    private final ConsentLedger ledger;
    private final ObjectMapper mapper;
    private final AdminCredentials credentials;

    public TenantStatusEndpoint(ConsentLedger ledger, ObjectMapper mapper, String adminToken) {
        this.ledger = ledger;
        this.mapper = mapper;
        this.credentials = new AdminCredentials(adminToken);
    }

    /** Adds the endpoint to the management server's router, if a token is configured. */
    public void mount(CamelContext context) {
        if (!credentials.configured()) {
            LOG.info("ADMIN_TOKEN is not set: the tenant status endpoint is off");
            return;
        }
        ManagementHttpServer server = context.hasService(ManagementHttpServer.class);
        if (server == null) {
            LOG.warn("no management server (camel.management.enabled=false): the tenant status endpoint is off");
            return;
        }
        server.getRouter().route(HttpMethod.GET, "/onboarding/:tenantId").blockingHandler(this::handle);
        server.getRouter().route(HttpMethod.GET, "/onboarding").blockingHandler(this::list);
    }

    /** {@code GET /onboarding?status=&limit=&offset=}: tenants by id, 50 a page by default (at most 500). */
    void list(RoutingContext ctx) {
        if (!authorized(ctx)) {
            return;
        }
        String status = ctx.request().getParam("status");
        Integer limit = number(ctx.request().getParam("limit"), 50);
        Integer offset = number(ctx.request().getParam("offset"), 0);
        if (limit == null || offset == null || limit < 1 || limit > 500 || offset < 0
                || (status != null && !OperatorPage.STATUSES.contains(status))) {
            respond(ctx, 400, Map.of("error", "invalid_request",
                    "message", "limit 1-500, offset 0 or more, status one of " + String.join(", ", OperatorPage.STATUSES)));
            return;
        }
        try {
            respond(ctx, 200, ledger.tenants(status, limit, offset));
        } catch (RuntimeException e) {
            LOG.warn("tenant list failed: {}", e.getMessage());
            respond(ctx, 503, Map.of("error", "unavailable", "message", "the ledger is not reachable"));
        }
    }

    /** A whole-number query parameter: {@code otherwise} when absent, null when not a number. */
    static Integer number(String text, int otherwise) {
        if (text == null) {
            return otherwise;
        }
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private boolean authorized(RoutingContext ctx) {
        if (!credentials.bearer(ctx.request().getHeader("Authorization"))) {
            // Before the answer: a header added after end() is never sent.
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            respond(ctx, 401, Map.of("error", "unauthorized", "message", "send Authorization: Bearer <ADMIN_TOKEN>"));
            return false;
        }
        return true;
    }

    void handle(RoutingContext ctx) {
        if (!authorized(ctx)) {
            return;
        }
        String tenantId = ctx.pathParam("tenantId");
        try {
            Optional<Map<String, Object>> status = ledger.status(tenantId);
            if (status.isPresent()) {
                respond(ctx, 200, status.get());
            } else {
                respond(ctx, 404, Map.of("error", "not_found", "message", "no onboarding for this tenant"));
            }
        } catch (RuntimeException e) {
            LOG.warn("tenant status failed: {}", e.getMessage());
            respond(ctx, 503, Map.of("error", "unavailable", "message", "the ledger is not reachable"));
        }
    }

    private void respond(RoutingContext ctx, int status, Object body) {
        try {
            ctx.response().setStatusCode(status)
                    .putHeader("Content-Type", "application/json")
                    .putHeader("Cache-Control", "no-store")
                    .end(mapper.writeValueAsString(body));
        } catch (Exception e) {
            ctx.fail(e);
        }
    }
}
