package io.consentbridge.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.consentbridge.callback.CallbackPages;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

/**
 * Demo mode's simulated Nylas, on loopback only: the credential and grant endpoints answer like
 * Nylas, and the consent link opens a page where you play the tenant admin (approve or decline),
 * which redirects to the bundle's callback as Nylas would. Nothing leaves the machine.
 */
public final class DemoNylas implements AutoCloseable {
    public static final String API_KEY = "demo-api-key";
    public static final String CLIENT_ID = "demo-client-id";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final Map<String, String> credentialsByName = new ConcurrentHashMap<>();
    private final Map<String, String> grantsByEmail = new ConcurrentHashMap<>();

    public DemoNylas(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/", this::handle);
    }

    public DemoNylas start() {
        server.start();
        return this;
    }

    public String baseUri() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String body;
            try (InputStream in = exchange.getRequestBody()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (path.equals("/v3/connect/auth")) {
                consentPage(exchange);
                return;
            }
            if (!("Bearer " + API_KEY).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                json(exchange, 401, "{\"request_id\":\"" + UUID.randomUUID() + "\",\"error\":{\"type\":\"unauthorized\",\"message\":\"Unauthorized\"}}");
                return;
            }
            long now = Instant.now().getEpochSecond();
            if (path.equals("/v3/connectors/microsoft/creds") && exchange.getRequestMethod().equals("POST")) {
                String name = field(body, "/name", "credential");
                String id = credentialsByName.computeIfAbsent(name, n -> UUID.randomUUID().toString());
                ObjectNode answer = JSON.createObjectNode().put("request_id", UUID.randomUUID().toString());
                answer.putObject("data").put("id", id).put("name", name).put("credential_type", "adminconsent")
                        .put("created_at", now).put("updated_at", now);
                json(exchange, 201, answer.toString());
            } else if (path.equals("/v3/connect/custom") && exchange.getRequestMethod().equals("POST")) {
                String email = field(body, "/settings/email_address", "unknown");
                String id = grantsByEmail.computeIfAbsent(email, e -> UUID.randomUUID().toString());
                ObjectNode answer = JSON.createObjectNode().put("request_id", UUID.randomUUID().toString());
                ObjectNode grant = answer.putObject("data").put("id", id).put("provider", "microsoft").put("grant_status", "valid")
                        .put("email", email);
                grant.putArray("scope").add("Mail.Read").add("User.Read.All");
                grant.put("created_at", now);
                json(exchange, 201, answer.toString());
            } else if (path.startsWith("/v3/grants/") && exchange.getRequestMethod().equals("DELETE")) {
                // Lifecycle (offboard, remove_mailboxes): the grant is gone; a later grant for the mailbox is a new one.
                String id = path.substring("/v3/grants/".length());
                boolean removed = grantsByEmail.values().removeIf(id::equals);
                json(exchange, removed ? 200 : 404, removed ? "{\"request_id\":\"" + UUID.randomUUID() + "\"}"
                        : "{\"request_id\":\"" + UUID.randomUUID() + "\",\"error\":{\"type\":\"not_found_error\",\"message\":\"grant not found\"}}");
            } else if (path.startsWith("/v3/connectors/microsoft/creds/") && exchange.getRequestMethod().equals("PATCH")) {
                // rotate_secret: the simulation keeps no secrets, so the new one is simply accepted.
                String id = path.substring("/v3/connectors/microsoft/creds/".length());
                json(exchange, 200, "{\"request_id\":\"" + UUID.randomUUID() + "\",\"data\":{\"id\":\"" + id
                        + "\",\"credential_type\":\"adminconsent\",\"updated_at\":" + now + "}}");
            } else if (path.startsWith("/v3/connectors/microsoft/creds/") && exchange.getRequestMethod().equals("DELETE")) {
                String id = path.substring("/v3/connectors/microsoft/creds/".length());
                boolean removed = credentialsByName.values().removeIf(id::equals);
                json(exchange, removed ? 200 : 404, removed ? "{\"request_id\":\"" + UUID.randomUUID() + "\"}"
                        : "{\"request_id\":\"" + UUID.randomUUID() + "\",\"error\":{\"type\":\"not_found_error\",\"message\":\"credential not found\"}}");
            } else {
                json(exchange, 404, "{\"request_id\":\"" + UUID.randomUUID() + "\",\"error\":{\"type\":\"not_found_error\",\"message\":\"Unrecognized request URL\"}}");
            }
        }
    }

    /** The tenant admin's side of the flow: approve or decline, then back to the bundle's callback. */
    private void consentPage(HttpExchange exchange) throws IOException {
        Map<String, String> query = query(exchange.getRequestURI());
        String redirect = query.getOrDefault("redirect_uri", "");
        String state = query.getOrDefault("state", "");
        String answer = query.get("demo_answer");
        if (!redirect.startsWith("http://") && !redirect.startsWith("https://")) {
            json(exchange, 400, "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"redirect_uri missing\"}}");
            return;
        }
        String separator = redirect.contains("?") ? "&" : "?";
        if ("approve".equals(answer)) {
            redirect(exchange, redirect + separator + "admin_consent=True&tenant=demo.onmicrosoft.com&state=" + enc(state));
            return;
        }
        if ("decline".equals(answer)) {
            redirect(exchange, redirect + separator + "error=access_denied&error_description="
                    + enc("AADSTS65004: User declined to consent to access the app.") + "&state=" + enc(state));
            return;
        }
        String self = exchange.getRequestURI().getRawPath() + "?" + exchange.getRequestURI().getRawQuery();
        String page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Simulated admin consent</title>"
                + "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}"
                + "a{display:inline-block;margin-right:1rem;padding:.5rem 1rem;border:1px solid #555;border-radius:4px;text-decoration:none}</style>"
                + "</head><body><h1>Simulated Microsoft admin consent</h1>"
                + "<p>Demo mode: this page stands in for Microsoft's consent screen. As the tenant's administrator, "
                + "allow the application to read your organisation's mailboxes?</p>"
                + "<p><a href=\"" + CallbackPages.escape(self + "&demo_answer=approve") + "\">Approve</a>"
                + "<a href=\"" + CallbackPages.escape(self + "&demo_answer=decline") + "\">Decline</a></p></body></html>";
        byte[] bytes = page.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        exchange.sendResponseHeaders(200, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    private static void redirect(HttpExchange exchange, String location) throws IOException {
        exchange.getResponseHeaders().set("Location", location);
        exchange.sendResponseHeaders(302, -1);
    }

    private static void json(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    /** A text field of the request's JSON body, or the fallback when it has none (or is not JSON). */
    private static String field(String body, String pointer, String fallback) {
        try {
            return JSON.readTree(body).at(pointer).asText(fallback);
        } catch (java.io.IOException notJson) {
            return fallback;
        }
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> params = new HashMap<>();
        if (uri.getRawQuery() != null) {
            for (String pair : uri.getRawQuery().split("&")) {
                String[] kv = pair.split("=", 2);
                params.putIfAbsent(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
            }
        }
        return params;
    }

    private static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
