package io.consentbridge.nylas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Loopback stand-in for the parts of the Nylas v3 API used by Microsoft admin-consent bulk auth:
 * <ul>
 *   <li>{@code POST/GET /v3/connectors/microsoft/creds} (+ {@code GET .../creds/{id}})</li>
 *   <li>{@code POST /v3/connect/custom} (Microsoft bulk auth variant)</li>
 *   <li>{@code GET /v3/connect/auth?response_type=adminconsent} (browser redirect)</li>
 * </ul>
 * Request bodies are validated against JSON Schemas taken from Nylas's published OpenAPI file
 * (see {@code src/test/resources/nylas/README.md}). Every response carries a {@code request_id}
 * body field (except the 302) and an {@code x-request-id} header.
 */
public final class NylasStandIn implements AutoCloseable {

    /** Connector providers the real path parameter accepts (OpenAPI {@code #/components/parameters/provider}). */
    private static final Set<String> KNOWN_PROVIDERS =
            Set.of("google", "microsoft", "imap", "icloud", "yahoo", "ews", "virtual-calendar", "zoom", "nylas");
    private static final List<String> GRANT_SCOPES = List.of("Mail.Read", "User.Read.All");
    private static final String CREDS = "/v3/connectors/microsoft/creds";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One request as received. Header names are lower-cased; repeated headers are joined with ", ". */
    public record RecordedRequest(String method, String path, String query, Map<String, String> headers, String body) {
        /** The body parsed as JSON; {@link MissingNode} when the body is empty. */
        public JsonNode json() {
            if (body == null || body.isBlank()) return MissingNode.getInstance();
            try {
                return JSON.readTree(body);
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** First value of a (decoded) query parameter, or null. */
        public String queryParam(String name) {
            List<String> values = parseQuery(query).get(name);
            return values == null ? null : values.get(0);
        }
    }

    public record Credential(String id, String name, JsonNode credentialData, long createdAt, long updatedAt) {}

    public record Grant(String id, String email, String credentialId, long createdAt, long updatedAt) {}

    private record ScriptedFault(String pathPrefix, int status, Integer retryAfterSeconds, int[] remaining) {}

    private record PredicateFault(Predicate<RecordedRequest> matcher, int status, Integer retryAfterSeconds) {}

    /** Thrown inside handlers to answer with the standard error envelope. */
    private static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String type;

        ApiError(int status, String type, String message) {
            super(message);
            this.status = status;
            this.type = type;
        }
    }

    private final String apiKey;
    private final String clientId;
    private final JsonSchema credentialSchema = loadSchema("nylas/create-credential-adminconsent.schema.json");
    private final JsonSchema customAuthSchema = loadSchema("nylas/custom-auth-microsoft.schema.json");

    private final List<RecordedRequest> recorded = new CopyOnWriteArrayList<>();
    private final List<ScriptedFault> scriptedFaults = new ArrayList<>();       // guarded by itself
    private final List<PredicateFault> predicateFaults = new CopyOnWriteArrayList<>();
    private final List<String> callbackUris = new CopyOnWriteArrayList<>();
    private volatile Duration delay = Duration.ZERO;
    private volatile String faultMessage;                                      // null = the usual message per status
    private final Map<String, String> grantIdOverrides = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile String consentDeniedDescription;                          // null = consent succeeds

    private final Object stateLock = new Object();
    private final Map<String, Credential> credentialsByName = new LinkedHashMap<>(); // guarded by stateLock
    private final Map<String, Grant> grantsByEmail = new LinkedHashMap<>();          // guarded by stateLock
    private int grantCalls;                                                          // guarded by stateLock

    private HttpServer server;
    private ExecutorService executor;

    /** Accepts any non-blank {@code client_id} on {@code /v3/connect/auth}. */
    public NylasStandIn(String apiKey) {
        this(apiKey, null);
    }

    /** @param clientId the Nylas application client id that {@code /v3/connect/auth} insists on (null = any). */
    public NylasStandIn(String apiKey, String clientId) {
        if (apiKey == null || apiKey.isBlank()) throw new IllegalArgumentException("apiKey is required");
        this.apiKey = apiKey;
        this.clientId = clientId;
    }

    // ---------------------------------------------------------------- lifecycle

    public synchronized NylasStandIn start() {
        if (server != null) return this;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        executor = Executors.newFixedThreadPool(16, r -> {
            Thread t = new Thread(r, "nylas-stand-in");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        return this;
    }

    public synchronized void stop() {
        if (server == null) return;
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server = null;
        executor = null;
    }

    @Override
    public void close() {
        stop();
    }

    /** E.g. {@code http://127.0.0.1:41234} (no trailing slash). */
    public synchronized String baseUri() {
        if (server == null) throw new IllegalStateException("not started");
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    // ---------------------------------------------------------------- recorded requests and state

    public List<RecordedRequest> requests() {
        return List.copyOf(recorded);
    }

    public List<RecordedRequest> requests(String method, String path) {
        return recorded.stream()
                .filter(r -> r.method().equalsIgnoreCase(method) && r.path().equals(path))
                .toList();
    }

    public void clearRecorded() {
        recorded.clear();
    }

    /** Number of distinct credentials created (reuses not counted). */
    public int credentialsCreated() {
        synchronized (stateLock) {
            return credentialsByName.size();
        }
    }

    /** Number of successful (201) {@code POST /v3/connect/custom} calls, re-authentications included. */
    public int grantCalls() {
        synchronized (stateLock) {
            return grantCalls;
        }
    }

    public List<Credential> credentials() {
        synchronized (stateLock) {
            return List.copyOf(credentialsByName.values());
        }
    }

    public List<Grant> grants() {
        synchronized (stateLock) {
            return List.copyOf(grantsByEmail.values());
        }
    }

    // ---------------------------------------------------------------- test switches

    /** The next {@code times} requests whose path starts with {@code pathPrefix} fail with {@code status}. */
    public void failNext(String pathPrefix, int times, int status) {
        failNext(pathPrefix, times, status, null);
    }

    /** As {@link #failNext(String, int, int)}, adding {@code Retry-After} when {@code retryAfterSeconds} is set. */
    public void failNext(String pathPrefix, int times, int status, Integer retryAfterSeconds) {
        if (times <= 0) throw new IllegalArgumentException("times must be > 0");
        synchronized (scriptedFaults) {
            scriptedFaults.add(new ScriptedFault(pathPrefix, status, retryAfterSeconds, new int[] {times}));
        }
    }

    /** Every matching request fails with {@code status} until {@link #clearFaults()}. */
    public void failWhen(Predicate<RecordedRequest> matcher, int status) {
        failWhen(matcher, status, null);
    }

    public void failWhen(Predicate<RecordedRequest> matcher, int status, Integer retryAfterSeconds) {
        predicateFaults.add(new PredicateFault(matcher, status, retryAfterSeconds));
    }

    public void clearFaults() {
        synchronized (scriptedFaults) {
            scriptedFaults.clear();
        }
        predicateFaults.clear();
    }

    /**
     * Injected faults answer with this {@code error.message} (null: the usual one), as an API or a
     * proxy that echoes the request, secrets included, would.
     */
    public void faultMessage(String message) {
        this.faultMessage = message;
    }

    /** The grant made for {@code email} gets this id instead of a UUID (say, one too long to store). */
    public void grantIdFor(String email, String id) {
        grantIdOverrides.put(email.toLowerCase(Locale.ROOT), id);
    }

    /** Slows every response down by {@code d} ({@link Duration#ZERO} to reset). */
    public void delay(Duration d) {
        this.delay = d == null ? Duration.ZERO : d;
    }

    /** Makes {@code /v3/connect/auth} redirect with {@code error=access_denied} and this description. */
    public void denyConsent(String errorDescription) {
        this.consentDeniedDescription = errorDescription == null ? "" : errorDescription;
    }

    /** Back to the default: consent succeeds with {@code admin_consent=true}. */
    public void allowConsent() {
        this.consentDeniedDescription = null;
    }

    /**
     * Registers an allowed callback URI (the Nylas app's "Callback URIs"). While none is registered,
     * any absolute http(s) {@code redirect_uri} is accepted.
     */
    public void allowCallbackUri(String uri) {
        callbackUris.add(uri);
    }

    // ---------------------------------------------------------------- dispatch

    private void handle(HttpExchange ex) throws IOException {
        String requestId = UUID.randomUUID().toString();
        try {
            RecordedRequest req = record(ex);
            sleep(delay);
            try {
                if (!isBrowserEndpoint(req) && !("Bearer " + apiKey).equals(req.header("authorization"))) {
                    throw new ApiError(401, "unauthorized", "Unauthorized: missing or invalid API key");
                }
                if (injectFault(ex, req, requestId)) return;
                route(ex, req, requestId);
            } catch (ApiError e) {
                sendError(ex, requestId, e.status, e.type, e.getMessage(), null);
            } catch (RuntimeException e) {
                sendError(ex, requestId, 500, "api.internal_error", "stand-in failure: " + e, null);
            }
        } finally {
            ex.close();
        }
    }

    /** The consent URL is opened by a browser, which sends no API key (the SDKs build a plain URL). */
    private static boolean isBrowserEndpoint(RecordedRequest req) {
        return req.method().equals("GET") && req.path().equals("/v3/connect/auth");
    }

    private void route(HttpExchange ex, RecordedRequest req, String requestId) throws IOException {
        String path = req.path();
        String method = req.method();
        if (path.equals("/v3/connect/custom")) {
            requireMethod(ex, method, "POST");
            createGrant(ex, req, requestId);
        } else if (path.equals("/v3/connect/auth")) {
            requireMethod(ex, method, "GET");
            consentRedirect(ex, req, requestId);
        } else if (path.matches("/v3/connectors/[^/]+/creds(/[^/]+)?")) {
            String provider = path.split("/")[3];
            if (!KNOWN_PROVIDERS.contains(provider)) {
                throw new ApiError(400, "invalid_request_error", "invalid provider: " + provider);
            }
            if (!provider.equals("microsoft")) {
                throw new ApiError(404, "not_found_error", "no " + provider + " connector in this application");
            }
            if (path.equals(CREDS)) {
                requireMethod(ex, method, "GET", "POST");
                if (method.equals("POST")) createCredential(ex, req, requestId);
                else listCredentials(ex, req, requestId);
            } else {
                requireMethod(ex, method, "GET");
                getCredential(ex, path.substring(CREDS.length() + 1), requestId);
            }
        } else {
            throw new ApiError(404, "not_found_error", "Unrecognized request URL");
        }
    }

    private static void requireMethod(HttpExchange ex, String method, String... allowed) {
        for (String a : allowed) if (a.equals(method)) return;
        ex.getResponseHeaders().set("Allow", String.join(", ", allowed));
        throw new ApiError(405, "method_not_allowed", "Method " + method + " not allowed");
    }

    // ---------------------------------------------------------------- credentials

    private void createCredential(HttpExchange ex, RecordedRequest req, String requestId) throws IOException {
        JsonNode body = validatedBody(req, credentialSchema);
        // The schema keeps credential_type a free string (as the spec does); the variant's text requires this value.
        if (!"adminconsent".equals(body.get("credential_type").asText())) {
            throw new ApiError(400, "invalid_request_error",
                    "credential_type must be adminconsent for Microsoft admin consent (stand-in models no other type)");
        }
        String name = body.get("name").asText();
        JsonNode data = body.get("credential_data");
        Credential cred;
        synchronized (stateLock) {
            cred = credentialsByName.get(name);
            if (cred == null) {
                long now = Instant.now().getEpochSecond();
                cred = new Credential(UUID.randomUUID().toString(), name, data.deepCopy(), now, now);
                credentialsByName.put(name, cred);
            } else if (!cred.credentialData().equals(data)) {
                throw new ApiError(400, "invalid_request_error", "name must be unique: a credential named '"
                        + name + "' already exists with different credential_data");
            }
            // Same name and same data: Nylas returns the existing credential.
        }
        sendData(ex, requestId, 201, credentialJson(cred));
    }

    private void listCredentials(HttpExchange ex, RecordedRequest req, String requestId) throws IOException {
        int limit = intParam(req, "limit", 10);
        int offset = intParam(req, "offset", 0);
        List<Credential> newestFirst = new ArrayList<>(credentials());
        Collections.reverse(newestFirst);
        ObjectNode out = JSON.createObjectNode().put("request_id", requestId);
        var data = out.putArray("data");
        newestFirst.stream().skip(offset).limit(limit).forEach(c -> data.add(credentialJson(c)));
        out.put("limit", limit).put("offset", offset);
        send(ex, requestId, 200, out);
    }

    private void getCredential(HttpExchange ex, String id, String requestId) throws IOException {
        Credential cred = credentials().stream().filter(c -> c.id().equals(id)).findFirst()
                .orElseThrow(() -> new ApiError(404, "not_found_error", "credential not found"));
        sendData(ex, requestId, 200, credentialJson(cred));
    }

    private static ObjectNode credentialJson(Credential c) {
        return JSON.createObjectNode()
                .put("id", c.id())
                .put("name", c.name())
                .put("credential_type", "adminconsent")
                .put("created_at", c.createdAt())
                .put("updated_at", c.updatedAt());
    }

    private static int intParam(RecordedRequest req, String name, int dflt) {
        String v = req.queryParam(name);
        if (v == null) return dflt;
        try {
            int i = Integer.parseInt(v);
            if (i < 0) throw new NumberFormatException();
            return i;
        } catch (NumberFormatException e) {
            throw new ApiError(400, "invalid_request_error", name + " must be a non-negative integer");
        }
    }

    // ---------------------------------------------------------------- grants

    private void createGrant(HttpExchange ex, RecordedRequest req, String requestId) throws IOException {
        JsonNode settings = validatedBody(req, customAuthSchema).get("settings");
        // The spec leaves both settings fields optional; a bulk-auth grant cannot be made without them.
        String email = textOrNull(settings, "email_address");
        String credentialId = textOrNull(settings, "credential_id");
        if (email == null || email.isBlank()) {
            throw new ApiError(400, "invalid_request_error", "settings.email_address is required");
        }
        if (credentialId == null || credentialId.isBlank()) {
            throw new ApiError(400, "invalid_request_error", "settings.credential_id is required");
        }
        Grant grant;
        synchronized (stateLock) {
            if (credentialsByName.values().stream().noneMatch(c -> c.id().equals(credentialId))) {
                throw new ApiError(400, "invalid_request_error", "credential not found: " + credentialId);
            }
            // Nylas re-authenticates an existing grant for the same email address and returns its id.
            String key = email.toLowerCase(Locale.ROOT);
            Grant existing = grantsByEmail.get(key);
            long now = Instant.now().getEpochSecond();
            grant = existing == null
                    ? new Grant(grantIdOverrides.getOrDefault(key, UUID.randomUUID().toString()), email, credentialId, now, now)
                    : new Grant(existing.id(), existing.email(), credentialId, existing.createdAt(), now);
            grantsByEmail.put(key, grant);
            grantCalls++;
        }
        ObjectNode data = JSON.createObjectNode()
                .put("id", grant.id())
                .put("provider", "microsoft")
                .put("grant_status", "valid")
                .put("email", grant.email());
        GRANT_SCOPES.forEach(data.putArray("scope")::add);
        data.put("created_at", grant.createdAt())
                .put("updated_at", grant.updatedAt())
                .put("credential_id", grant.credentialId())
                .putObject("settings");
        sendData(ex, requestId, 201, data);
    }

    private static String textOrNull(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    // ---------------------------------------------------------------- consent redirect

    private void consentRedirect(HttpExchange ex, RecordedRequest req, String requestId) throws IOException {
        String cid = req.queryParam("client_id");
        String redirectUri = req.queryParam("redirect_uri");
        String responseType = req.queryParam("response_type");
        String provider = req.queryParam("provider");
        String credentialId = req.queryParam("credential_id");
        String state = req.queryParam("state");

        if (cid == null || cid.isBlank()) throw badRequest("client_id is required");
        if (clientId != null && !clientId.equals(cid)) throw badRequest("unknown client_id");
        if (redirectUri == null || redirectUri.isBlank()) throw badRequest("redirect_uri is required");
        URI target;
        try {
            target = URI.create(redirectUri);
        } catch (IllegalArgumentException e) {
            throw badRequest("redirect_uri is not a valid URI");
        }
        if (!target.isAbsolute() || !List.of("http", "https").contains(target.getScheme())) {
            throw badRequest("redirect_uri must be an absolute http(s) URI");
        }
        if (!callbackUris.isEmpty() && !callbackUris.contains(redirectUri)) {
            throw new ApiError(400, "grant.callback_uri_not_allowed", "redirect_uri is not a registered callback URI");
        }
        if (!"adminconsent".equals(responseType)) throw badRequest("response_type must be adminconsent");
        if (provider != null && !provider.equals("microsoft")) {
            throw badRequest("admin consent requires provider microsoft");
        }
        if (credentialId == null || credentials().stream().noneMatch(c -> c.id().equals(credentialId))) {
            throw badRequest("credential_id is missing or unknown");
        }
        if (state != null && state.length() > 256) throw badRequest("state must be at most 256 characters");

        Map<String, String> params = new LinkedHashMap<>();
        String denied = consentDeniedDescription;
        if (denied == null) {
            params.put("admin_consent", "true");
        } else {
            params.put("error", "access_denied");
            params.put("error_description", denied);
        }
        if (state != null) params.put("state", state);
        String query = params.entrySet().stream()
                .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        String location = redirectUri + (redirectUri.contains("?") ? "&" : "?") + query;

        ex.getResponseHeaders().set("Location", location);
        ex.getResponseHeaders().set("x-request-id", requestId);
        ex.sendResponseHeaders(302, -1);
    }

    private static ApiError badRequest(String message) {
        return new ApiError(400, "invalid_request_error", message);
    }

    // ---------------------------------------------------------------- faults

    private boolean injectFault(HttpExchange ex, RecordedRequest req, String requestId) throws IOException {
        Integer status = null;
        Integer retryAfter = null;
        for (PredicateFault f : predicateFaults) {
            if (matches(f.matcher(), req)) {
                status = f.status();
                retryAfter = f.retryAfterSeconds();
                break;
            }
        }
        if (status == null) {
            synchronized (scriptedFaults) {
                for (var it = scriptedFaults.iterator(); it.hasNext(); ) {
                    ScriptedFault f = it.next();
                    if (req.path().startsWith(f.pathPrefix())) {
                        status = f.status();
                        retryAfter = f.retryAfterSeconds();
                        if (--f.remaining()[0] == 0) it.remove();
                        break;
                    }
                }
            }
        }
        if (status == null) return false;
        String[] typeAndMessage = errorFor(status);
        sendError(ex, requestId, status, typeAndMessage[0], faultMessage != null ? faultMessage : typeAndMessage[1], retryAfter);
        return true;
    }

    /** A matcher that throws (e.g. on a non-JSON body) simply does not match. */
    private static boolean matches(Predicate<RecordedRequest> matcher, RecordedRequest req) {
        try {
            return matcher.test(req);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Error type and message per status, as listed in Nylas's spec examples and error table. */
    private static String[] errorFor(int status) {
        return switch (status) {
            case 400 -> new String[] {"invalid_request_error", "error parsing request body"};
            case 401 -> new String[] {"unauthorized", "Unauthorized"};
            case 403 -> new String[] {"insufficient_scopes", "missing provider scopes"};
            case 404 -> new String[] {"not_found_error", "requested object not found"};
            case 409 -> new String[] {"conflict", "conflict"};
            case 423 -> new String[] {"api.resource_blocked", "resource blocked"};
            case 429 -> new String[] {"rate_limit_error", "Too many requests, please try again shortly."};
            case 504 -> new String[] {"api.provider_error", "Provider request timed out."};
            default -> new String[] {status >= 500 ? "api.internal_error" : "invalid_request_error",
                    status >= 500 ? "Internal server error" : "request failed"};
        };
    }

    // ---------------------------------------------------------------- request / response plumbing

    private RecordedRequest record(HttpExchange ex) throws IOException {
        Map<String, String> headers = new TreeMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), String.join(", ", v)));
        String body;
        try (InputStream in = ex.getRequestBody()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        URI uri = ex.getRequestURI();
        RecordedRequest req = new RecordedRequest(ex.getRequestMethod().toUpperCase(Locale.ROOT), uri.getRawPath(),
                uri.getRawQuery(), Collections.unmodifiableMap(headers), body);
        recorded.add(req);
        return req;
    }

    /** Checks the content type, parses JSON and validates it; any problem is a 400 invalid_request_error. */
    private static JsonNode validatedBody(RecordedRequest req, JsonSchema schema) {
        String contentType = req.header("content-type");
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).split(";")[0].trim().equals("application/json")) {
            throw badRequest("Content-Type must be application/json");
        }
        JsonNode body;
        try {
            body = JSON.readTree(req.body());
        } catch (JsonProcessingException e) {
            throw badRequest("error parsing request body");
        }
        if (body == null || body.isMissingNode()) throw badRequest("error parsing request body");
        Set<ValidationMessage> problems = schema.validate(body);
        if (!problems.isEmpty()) {
            throw badRequest(problems.stream().map(ValidationMessage::getMessage).sorted()
                    .collect(Collectors.joining("; ")));
        }
        return body;
    }

    private static void sendData(HttpExchange ex, String requestId, int status, JsonNode data) throws IOException {
        ObjectNode out = JSON.createObjectNode().put("request_id", requestId);
        out.set("data", data);
        send(ex, requestId, status, out);
    }

    private static void sendError(HttpExchange ex, String requestId, int status, String type, String message,
                                  Integer retryAfterSeconds) throws IOException {
        ObjectNode out = JSON.createObjectNode().put("request_id", requestId);
        out.putObject("error").put("type", type).put("message", message);
        if (retryAfterSeconds != null) ex.getResponseHeaders().set("Retry-After", retryAfterSeconds.toString());
        send(ex, requestId, status, out);
    }

    private static void send(HttpExchange ex, String requestId, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.getResponseHeaders().set("x-request-id", requestId);
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    static Map<String, List<String>> parseQuery(String rawQuery) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) return params;
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return params;
    }

    private static JsonSchema loadSchema(String resource) {
        try (InputStream in = NylasStandIn.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing classpath resource " + resource);
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(Duration d) {
        if (d.isZero() || d.isNegative()) return;
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
