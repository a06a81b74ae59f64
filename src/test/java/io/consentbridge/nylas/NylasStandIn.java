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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Loopback stand-in for the parts of the Nylas v3 API used by Microsoft admin-consent bulk auth:
 * <ul>
 *   <li>{@code POST/GET /v3/connectors/microsoft/creds} (+ {@code GET .../creds/{id}})</li>
 *   <li>{@code PATCH /v3/connectors/microsoft/creds/{id}} (replaces {@code name} and/or the whole
 *       {@code credential_data}) and {@code DELETE .../creds/{id}}</li>
 *   <li>{@code POST /v3/connect/custom} (Microsoft bulk auth variant)</li>
 *   <li>{@code GET /v3/connect/auth?response_type=adminconsent} (browser redirect)</li>
 *   <li>{@code GET /v3/grants} ({@code limit} 1-200, {@code offset}, {@code provider}, {@code email},
 *       {@code grant_status}, {@code since}, {@code before}, {@code sort_by}, {@code order_by}),
 *       {@code GET /v3/grants/{grant_id}} and {@code DELETE /v3/grants/{grant_id}}</li>
 * </ul>
 * Request bodies are validated against JSON Schemas taken from Nylas's published OpenAPI file
 * (see {@code src/test/resources/nylas/README.md}). Every response carries a {@code request_id}
 * body field (except the 302) and an {@code x-request-id} header.
 * <p>
 * Tests change what happens after onboarding with {@link #expireGrant(String)} (a grant turns
 * {@code invalid}; a custom auth for the same email makes it valid again under the same id),
 * {@link #deleteGrantExternally(String)}, and the tenant-wide causes that make custom auth fail:
 * {@link #revokeConsent(String)} and {@link #expireSecret(String)}.
 */
public final class NylasStandIn implements AutoCloseable {

    /** Connector providers the real path parameter accepts (OpenAPI {@code #/components/parameters/provider}). */
    private static final Set<String> KNOWN_PROVIDERS =
            Set.of("google", "microsoft", "imap", "icloud", "yahoo", "ews", "virtual-calendar", "zoom", "nylas");
    private static final List<String> GRANT_SCOPES = List.of("Mail.Read", "User.Read.All");
    private static final String CREDS = "/v3/connectors/microsoft/creds";
    private static final String GRANTS = "/v3/grants";
    private static final int MAX_GRANTS_LIMIT = 200;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One request as received. Header names are lower-cased; repeated headers are joined with ", ". */
    public record RecordedRequest(String method, String path, String query, Map<String, String> headers, String body, Instant receivedAt) {
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

    /** @param grantStatus {@code valid} or {@code invalid}, as in {@code GrantObject.grant_status}. */
    public record Grant(String id, String email, String credentialId, long createdAt, long updatedAt,
                        String grantStatus) {
        public static final String VALID = "valid";
        public static final String INVALID = "invalid";

        /** A valid grant. */
        public Grant(String id, String email, String credentialId, long createdAt, long updatedAt) {
            this(id, email, credentialId, createdAt, updatedAt, VALID);
        }

        public boolean valid() {
            return VALID.equals(grantStatus);
        }

        Grant withStatus(String status) {
            return new Grant(id, email, credentialId, createdAt, updatedAt, status);
        }
    }

    /**
     * Where a tenant-wide refusal of {@code POST /v3/connect/custom} carries Microsoft's AADSTS text. How
     * Nylas wraps it is not documented (reference §9: "read both places"), so tests can pick one.
     */
    public enum AadstsPlacement {
        /** {@code error.message} is the AADSTS text and {@code error.provider_error} holds Microsoft's OAuth error. */
        MESSAGE_AND_PROVIDER_ERROR,
        /** Only {@code error.message}; no {@code provider_error}. */
        MESSAGE,
        /** Only {@code error.provider_error}; {@code error.message} is a generic text without the code. */
        PROVIDER_ERROR
    }

    /** @param method null = any method */
    private record ScriptedFault(String method, String pathPrefix, int status, Integer retryAfterSeconds,
                                 int[] remaining) {}

    private record PredicateFault(Predicate<RecordedRequest> matcher, int status, Integer retryAfterSeconds) {}

    /** Thrown inside handlers to answer with the standard error envelope. */
    private static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String type;
        final transient JsonNode providerError; // null = none

        ApiError(int status, String type, String message) {
            this(status, type, message, null);
        }

        ApiError(int status, String type, String message, JsonNode providerError) {
            super(message);
            this.status = status;
            this.type = type;
            this.providerError = providerError;
        }
    }

    private final String apiKey;
    private final String clientId;
    private final JsonSchema credentialSchema = loadSchema("nylas/create-credential-adminconsent.schema.json");
    private final JsonSchema customAuthSchema = loadSchema("nylas/custom-auth-microsoft.schema.json");
    private final JsonSchema updateCredentialSchema = loadSchema("nylas/update-credential.schema.json");

    private final List<RecordedRequest> recorded = new CopyOnWriteArrayList<>();
    private final List<ScriptedFault> scriptedFaults = new ArrayList<>();       // guarded by itself
    private final List<PredicateFault> predicateFaults = new CopyOnWriteArrayList<>();
    private final List<String> callbackUris = new CopyOnWriteArrayList<>();
    private volatile Duration delay = Duration.ZERO;
    private volatile String faultMessage;                                      // null = the usual message per status
    private final Map<String, String> grantIdOverrides = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile String consentDeniedDescription;                          // null = consent succeeds
    private volatile AadstsPlacement aadstsPlacement = AadstsPlacement.MESSAGE_AND_PROVIDER_ERROR;
    private volatile int rateLimit;                                            // 0 = no limit
    private final ArrayDeque<Long> acceptedInLastSecond = new ArrayDeque<>(); // guarded by itself
    private final AtomicInteger rateLimited = new AtomicInteger();
    private int handlerThreads = 16;

    private final Object stateLock = new Object();
    // Both maps keep creation order (a re-authentication replaces the value in place).
    private final Map<String, Credential> credentialsById = new LinkedHashMap<>();   // guarded by stateLock
    private final Map<String, Grant> grantsByEmail = new LinkedHashMap<>();          // guarded by stateLock
    private final List<String> deletedGrantIds = new ArrayList<>();                  // guarded by stateLock
    private final Set<String> consentRevoked = new HashSet<>();   // credential ids; guarded by stateLock
    private final Set<String> secretExpired = new HashSet<>();    // credential ids; guarded by stateLock
    private int credentialsCreated;                                                  // guarded by stateLock
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
        executor = Executors.newFixedThreadPool(handlerThreads, r -> {
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

    /** Number of distinct credentials created (reuses not counted, deleted ones still counted). */
    public int credentialsCreated() {
        synchronized (stateLock) {
            return credentialsCreated;
        }
    }

    /** Number of successful (201) {@code POST /v3/connect/custom} calls, re-authentications included. */
    public int grantCalls() {
        synchronized (stateLock) {
            return grantCalls;
        }
    }

    /** The credentials that exist now (deleted ones left out), in creation order. */
    public List<Credential> credentials() {
        synchronized (stateLock) {
            return List.copyOf(credentialsById.values());
        }
    }

    /** The credential with this id, unless it was never made or has been deleted. */
    public Optional<Credential> credential(String credentialId) {
        synchronized (stateLock) {
            return Optional.ofNullable(credentialsById.get(credentialId));
        }
    }

    /**
     * A copy of the credential's current {@code credential_data} (after any PATCH), secrets included.
     *
     * @throws NoSuchElementException when no such credential exists (never made, or deleted)
     */
    public JsonNode credentialData(String credentialId) {
        return credential(credentialId).map(c -> c.credentialData().<JsonNode>deepCopy())
                .orElseThrow(() -> new NoSuchElementException("no credential " + credentialId));
    }

    /** The grants that exist now (deleted ones left out), in creation order. */
    public List<Grant> grants() {
        synchronized (stateLock) {
            return List.copyOf(grantsByEmail.values());
        }
    }

    /** The current grant for this email address (any case), if there is one. */
    public Optional<Grant> grant(String email) {
        synchronized (stateLock) {
            return Optional.ofNullable(grantsByEmail.get(email.toLowerCase(Locale.ROOT)));
        }
    }

    /** Ids of the grants deleted so far, by {@code DELETE /v3/grants/{id}} or {@link #deleteGrantExternally}. */
    public List<String> deletedGrantIds() {
        synchronized (stateLock) {
            return List.copyOf(deletedGrantIds);
        }
    }

    // ---------------------------------------------------------------- test switches

    /** The next {@code times} requests whose path starts with {@code pathPrefix} fail with {@code status}. */
    public void failNext(String pathPrefix, int times, int status) {
        failNext(pathPrefix, times, status, null);
    }

    /** As {@link #failNext(String, int, int)}, adding {@code Retry-After} when {@code retryAfterSeconds} is set. */
    public void failNext(String pathPrefix, int times, int status, Integer retryAfterSeconds) {
        failNext(null, pathPrefix, times, status, retryAfterSeconds);
    }

    /**
     * As {@link #failNext(String, int, int, Integer)}, for requests with this method only (say, the
     * {@code DELETE}s under {@code /v3/grants/} but not the {@code GET}s).
     */
    public void failNext(String method, String pathPrefix, int times, int status, Integer retryAfterSeconds) {
        if (times <= 0) throw new IllegalArgumentException("times must be > 0");
        String m = method == null ? null : method.toUpperCase(Locale.ROOT);
        synchronized (scriptedFaults) {
            scriptedFaults.add(new ScriptedFault(m, pathPrefix, status, retryAfterSeconds, new int[] {times}));
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

    /**
     * The next grant made for {@code email} gets this id instead of a UUID (say, one too long to store).
     * Used once: re-authentications keep it, and a grant made after a deletion gets a new UUID.
     */
    public void grantIdFor(String email, String id) {
        grantIdOverrides.put(email.toLowerCase(Locale.ROOT), id);
    }

    /**
     * Requests handled at once (16 unless set; before {@link #start()}). A request that finds them all busy
     * waits unrecorded, so a benchmark that reads arrival times needs at least as many as it sends at once.
     */
    public NylasStandIn handlerThreads(int threads) {
        this.handlerThreads = threads;
        return this;
    }

    /**
     * Nylas's own per-application limit: an API request (the browser's consent redirect is not one) that
     * arrives when {@code perSecond} requests have been accepted in the second before it is answered at once
     * with 429 {@code nylas_rate_limit_exceeded}, without {@code provider_error} or {@code Retry-After}
     * (reference §4). 0 turns the limit off (the default).
     */
    public void rateLimit(int perSecond) {
        this.rateLimit = perSecond;
    }

    /** Requests answered 429 by {@link #rateLimit(int)} so far. */
    public int rateLimited() {
        return rateLimited.get();
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

    // ---------------------------------------------------------------- lifecycle switches

    /**
     * The grant for {@code email} turns {@code invalid} (as on a {@code grant.expired} notification).
     * A {@code POST /v3/connect/custom} for the same email makes it valid again under the same id,
     * unless a tenant-wide cause ({@link #revokeConsent}, {@link #expireSecret}) stands.
     *
     * @return the grant's id
     * @throws NoSuchElementException when there is no grant for that email
     */
    public String expireGrant(String email) {
        synchronized (stateLock) {
            String key = email.toLowerCase(Locale.ROOT);
            Grant g = grantsByEmail.get(key);
            if (g == null) throw new NoSuchElementException("no grant for " + email);
            grantsByEmail.put(key, g.withStatus(Grant.INVALID));
            return g.id();
        }
    }

    /** Every current grant matching {@code which} turns {@code invalid}; returns their ids in creation order. */
    public List<String> expireGrants(Predicate<Grant> which) {
        synchronized (stateLock) {
            List<String> ids = new ArrayList<>();
            grantsByEmail.replaceAll((key, g) -> {
                if (!which.test(g)) return g;
                ids.add(g.id());
                return g.withStatus(Grant.INVALID);
            });
            return ids;
        }
    }

    /** Every grant made with this credential turns {@code invalid}; returns their ids in creation order. */
    public List<String> expireGrants(String credentialId) {
        return expireGrants(g -> g.credentialId().equals(credentialId));
    }

    /**
     * The grant for {@code email} is deleted from outside the bridge (dashboard, another app): it is gone
     * for {@code GET}/{@code DELETE /v3/grants/{id}}, and a later custom auth makes a new grant id.
     * Nothing is recorded as a request.
     *
     * @return the deleted grant's id
     * @throws NoSuchElementException when there is no grant for that email
     */
    public String deleteGrantExternally(String email) {
        synchronized (stateLock) {
            Grant g = grantsByEmail.remove(email.toLowerCase(Locale.ROOT));
            if (g == null) throw new NoSuchElementException("no grant for " + email);
            deletedGrantIds.add(g.id());
            return g.id();
        }
    }

    /**
     * The tenant's admin withdraws consent for this credential's app: every {@code POST /v3/connect/custom}
     * with it fails (400 {@code token.exchange_failed}, AADSTS65001) until {@link #restoreConsent} or a
     * successful {@code /v3/connect/auth} admin consent with this credential. Existing grants are left
     * as they are; call {@link #expireGrants(String)} to expire them too.
     */
    public void revokeConsent(String credentialId) {
        synchronized (stateLock) {
            requireCredential(credentialId);
            consentRevoked.add(credentialId);
        }
    }

    public void restoreConsent(String credentialId) {
        synchronized (stateLock) {
            consentRevoked.remove(credentialId);
        }
    }

    /**
     * The Azure client secret in this credential has expired: every {@code POST /v3/connect/custom} with
     * it fails (400 {@code token.exchange_failed}, AADSTS7000222) until {@link #restoreSecret} or a
     * {@code PATCH} of the credential with a different {@code client_secret}. Existing grants are left as they are (see {@link #expireGrants(String)}).
     * When both causes stand, the expired secret is reported: Microsoft checks the client before consent.
     */
    public void expireSecret(String credentialId) {
        synchronized (stateLock) {
            requireCredential(credentialId);
            secretExpired.add(credentialId);
        }
    }

    public void restoreSecret(String credentialId) {
        synchronized (stateLock) {
            secretExpired.remove(credentialId);
        }
    }

    /** Where tenant-wide refusals put the AADSTS text (default: both {@code error.message} and {@code provider_error}). */
    public void aadstsIn(AadstsPlacement placement) {
        this.aadstsPlacement = Objects.requireNonNull(placement);
    }

    private void requireCredential(String credentialId) {
        if (!credentialsById.containsKey(credentialId)) {
            throw new IllegalArgumentException("no credential " + credentialId);
        }
    }

    // ---------------------------------------------------------------- dispatch

    private void handle(HttpExchange ex) throws IOException {
        String requestId = UUID.randomUUID().toString();
        try {
            RecordedRequest req = record(ex);
            if (overRateLimit(req)) {
                sendError(ex, requestId, 429, "nylas_rate_limit_exceeded", "Too many requests, please try again shortly.", null, null);
                return;
            }
            sleep(delay);
            try {
                if (!isBrowserEndpoint(req) && !("Bearer " + apiKey).equals(req.header("authorization"))) {
                    throw new ApiError(401, "unauthorized", "Unauthorized: missing or invalid API key");
                }
                if (injectFault(ex, req, requestId)) return;
                route(ex, req, requestId);
            } catch (ApiError e) {
                sendError(ex, requestId, e.status, e.type, e.getMessage(), e.providerError, null);
            } catch (RuntimeException e) {
                sendError(ex, requestId, 500, "api.internal_error", "stand-in failure: " + e, null, null);
            }
        } finally {
            ex.close();
        }
    }

    /** Whether this request is one over {@link #rateLimit(int)}; if it is not, it counts against the limit. */
    private boolean overRateLimit(RecordedRequest req) {
        int limit = rateLimit;
        if (limit <= 0 || isBrowserEndpoint(req)) return false;
        synchronized (acceptedInLastSecond) {
            long now = System.nanoTime();
            while (!acceptedInLastSecond.isEmpty() && now - acceptedInLastSecond.peekFirst() >= 1_000_000_000L) {
                acceptedInLastSecond.pollFirst();
            }
            if (acceptedInLastSecond.size() >= limit) {
                rateLimited.incrementAndGet();
                return true;
            }
            acceptedInLastSecond.addLast(now);
            return false;
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
                String id = path.substring(CREDS.length() + 1);
                requireMethod(ex, method, "GET", "PATCH", "DELETE");
                switch (method) {
                    case "GET" -> getCredential(ex, id, requestId);
                    case "PATCH" -> updateCredential(ex, req, id, requestId);
                    default -> deleteCredential(ex, id, requestId);
                }
            }
        } else if (path.equals(GRANTS)) {
            requireMethod(ex, method, "GET");
            listGrants(ex, req, requestId);
        } else if (path.matches(GRANTS + "/[^/]+")) {
            String id = path.substring(GRANTS.length() + 1);
            requireMethod(ex, method, "GET", "DELETE");
            if (method.equals("GET")) getGrant(ex, id, requestId);
            else deleteGrant(ex, id, requestId);
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
            cred = credentialNamed(name);
            if (cred == null) {
                long now = Instant.now().getEpochSecond();
                cred = new Credential(UUID.randomUUID().toString(), name, data.deepCopy(), now, now);
                credentialsById.put(cred.id(), cred);
                credentialsCreated++;
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
        Credential cred = credential(id).orElseThrow(() -> notFound("credential not found"));
        sendData(ex, requestId, 200, credentialJson(cred));
    }

    private void updateCredential(HttpExchange ex, RecordedRequest req, String id, String requestId)
            throws IOException {
        JsonNode body = validatedBody(req, updateCredentialSchema);
        JsonNode data = body.get("credential_data"); // an object when present (schema)
        if (data != null && hasText(data, "client_id") != hasText(data, "client_secret")) {
            // PATCH replaces credential_data as a whole (reference §1 and §9), so a rotation that sends one
            // of the two would drop the other: refuse it as Nylas's prose requires both for Microsoft.
            throw badRequest("credential_data must hold client_id and client_secret together "
                    + "(PATCH replaces the whole credential_data)");
        }
        Credential updated;
        synchronized (stateLock) {
            Credential old = credentialsById.get(id);
            if (old == null) throw notFound("credential not found");
            String name = body.has("name") ? body.get("name").asText() : old.name();
            Credential sameName = credentialNamed(name);
            if (sameName != null && !sameName.id().equals(id)) {
                throw badRequest("name must be unique: a credential named '" + name + "' already exists");
            }
            JsonNode newData = data == null ? old.credentialData() : data.deepCopy();
            updated = new Credential(id, name, newData, old.createdAt(), Instant.now().getEpochSecond());
            credentialsById.put(id, updated);
            // A new secret replaces the expired one; sending the same secret again does not.
            if (data != null && hasText(data, "client_secret")
                    && !data.get("client_secret").asText().equals(textOrNull(old.credentialData(), "client_secret"))) {
                secretExpired.remove(id);
            }
        }
        sendData(ex, requestId, 200, credentialJson(updated));
    }

    private void deleteCredential(HttpExchange ex, String id, String requestId) throws IOException {
        synchronized (stateLock) {
            if (credentialsById.remove(id) == null) throw notFound("credential not found");
            consentRevoked.remove(id);
            secretExpired.remove(id);
            // "Any grants that use the deleted credential stop working right away" (spec, delete_credential_by_id).
            grantsByEmail.replaceAll((k, g) -> g.credentialId().equals(id) ? g.withStatus(Grant.INVALID) : g);
        }
        send(ex, requestId, 200, JSON.createObjectNode().put("request_id", requestId));
    }

    /** guarded by stateLock */
    private Credential credentialNamed(String name) {
        for (Credential c : credentialsById.values()) if (c.name().equals(name)) return c;
        return null;
    }

    private static boolean hasText(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull() && !v.asText().isBlank();
    }

    private static ObjectNode credentialJson(Credential c) {
        return JSON.createObjectNode()
                .put("id", c.id())
                .put("name", c.name())
                .put("credential_type", "adminconsent")
                .put("created_at", c.createdAt())
                .put("updated_at", c.updatedAt());
    }

    private static long longParam(RecordedRequest req, String name, long dflt) {
        String v = req.queryParam(name);
        if (v == null) return dflt;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw badRequest(name + " must be an integer");
        }
    }

    private static String enumParam(RecordedRequest req, String name, String dflt, String... allowed) {
        String v = req.queryParam(name);
        if (v == null) return dflt;
        if (!List.of(allowed).contains(v)) throw badRequest(name + " must be one of " + String.join(", ", allowed));
        return v;
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
            Credential cred = credentialsById.get(credentialId);
            if (cred == null) {
                throw new ApiError(400, "invalid_request_error", "credential not found: " + credentialId);
            }
            ApiError refusal = tenantWideRefusal(cred);
            if (refusal != null) throw refusal;
            // Nylas re-authenticates an existing grant for the same email address and returns its id;
            // a deleted grant is gone for good, so the next auth makes a new id.
            String key = email.toLowerCase(Locale.ROOT);
            Grant existing = grantsByEmail.get(key);
            long now = Instant.now().getEpochSecond();
            if (existing == null) {
                String override = grantIdOverrides.remove(key);
                grant = new Grant(override != null ? override : UUID.randomUUID().toString(), email, credentialId,
                        now, now, Grant.VALID);
            } else {
                grant = new Grant(existing.id(), existing.email(), credentialId, existing.createdAt(), now, Grant.VALID);
            }
            grantsByEmail.put(key, grant);
            grantCalls++;
        }
        sendData(ex, requestId, 201, grantJson(grant));
    }

    /**
     * Why Microsoft refuses every mailbox of this credential's tenant, or null. Nylas documents neither the
     * status nor the type for this (reference §8/§9), so the choice follows reference §4 and §9:
     * 400 (the spec lists only 400 and 401 for {@code /v3/connect/custom}, and 401 means a bad API key or
     * region), type {@code token.exchange_failed} (Nylas's error table, §4: a failed token exchange with the
     * provider), and the AADSTS code, "the most specific signal Nylas passes on, inside {@code error.message}
     * or {@code provider_error}" (§9), with {@code provider_error} shaped as Microsoft's OAuth error
     * ({@code error}, {@code error_description}, {@code error_codes}). Texts are Microsoft's, trace ids left out.
     */
    private ApiError tenantWideRefusal(Credential cred) { // guarded by stateLock
        String app = Objects.requireNonNullElse(textOrNull(cred.credentialData(), "client_id"),
                "<connector client_id>");
        if (secretExpired.contains(cred.id())) { // Microsoft authenticates the client before it looks at consent
            return providerRefusal("invalid_client", 7000222, "AADSTS7000222: The provided client secret keys for app '"
                    + app + "' are expired. Visit the Azure portal to create new keys for your app: "
                    + "https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: "
                    + "https://aka.ms/certCreds.");
        }
        if (consentRevoked.contains(cred.id())) {
            return providerRefusal("invalid_grant", 65001, "AADSTS65001: The user or administrator has not consented "
                    + "to use the application with ID '" + app + "'. Send an interactive authorization request for "
                    + "this user and resource.");
        }
        return null;
    }

    private ApiError providerRefusal(String oauthError, int aadsts, String description) {
        ObjectNode providerError = JSON.createObjectNode().put("error", oauthError).put("error_description", description);
        providerError.putArray("error_codes").add(aadsts);
        return switch (aadstsPlacement) {
            case MESSAGE_AND_PROVIDER_ERROR -> new ApiError(400, "token.exchange_failed", description, providerError);
            case MESSAGE -> new ApiError(400, "token.exchange_failed", description);
            case PROVIDER_ERROR -> new ApiError(400, "token.exchange_failed",
                    "Failed to exchange the token with the provider", providerError);
        };
    }

    private void getGrant(HttpExchange ex, String id, String requestId) throws IOException {
        Grant grant = grants().stream().filter(g -> g.id().equals(id)).findFirst()
                .orElseThrow(() -> notFound("grant not found"));
        sendData(ex, requestId, 200, grantJson(grant));
    }

    private void deleteGrant(HttpExchange ex, String id, String requestId) throws IOException {
        synchronized (stateLock) {
            boolean removed = grantsByEmail.values().removeIf(g -> g.id().equals(id));
            if (!removed) throw notFound("grant not found");
            deletedGrantIds.add(id);
        }
        send(ex, requestId, 200, JSON.createObjectNode().put("request_id", requestId));
    }

    private void listGrants(HttpExchange ex, RecordedRequest req, String requestId) throws IOException {
        int limit = intParam(req, "limit", 10);
        if (limit < 1 || limit > MAX_GRANTS_LIMIT) {
            throw badRequest("limit must be between 1 and " + MAX_GRANTS_LIMIT);
        }
        int offset = intParam(req, "offset", 0);
        String status = enumParam(req, "grant_status", null, Grant.VALID, Grant.INVALID);
        // Spec defaults: sort_by created_at, order_by desc (newest first). Ties keep creation order.
        String sortBy = enumParam(req, "sort_by", "created_at", "created_at", "updated_at");
        String orderBy = enumParam(req, "order_by", "desc", "asc", "desc");
        String provider = req.queryParam("provider");
        String email = req.queryParam("email");
        long since = longParam(req, "since", Long.MIN_VALUE);
        long before = longParam(req, "before", Long.MAX_VALUE);

        List<Grant> sorted = new ArrayList<>(grants()); // creation order
        if (sortBy.equals("updated_at")) sorted.sort(Comparator.comparingLong(Grant::updatedAt));
        if (orderBy.equals("desc")) Collections.reverse(sorted);
        ObjectNode out = JSON.createObjectNode().put("request_id", requestId);
        var data = out.putArray("data");
        sorted.stream()
                .filter(g -> provider == null || provider.equals("microsoft"))
                .filter(g -> email == null || g.email().equalsIgnoreCase(email))
                .filter(g -> status == null || g.grantStatus().equals(status))
                .filter(g -> g.createdAt() >= since && g.createdAt() <= before)
                .skip(offset).limit(limit)
                .forEach(g -> data.add(grantJson(g)));
        out.put("limit", limit).put("offset", offset);
        send(ex, requestId, 200, out);
    }

    private static ObjectNode grantJson(Grant grant) {
        ObjectNode data = JSON.createObjectNode()
                .put("id", grant.id())
                .put("provider", "microsoft")
                .put("grant_status", grant.grantStatus())
                .put("email", grant.email());
        GRANT_SCOPES.forEach(data.putArray("scope")::add);
        data.put("created_at", grant.createdAt())
                .put("updated_at", grant.updatedAt())
                .put("credential_id", grant.credentialId())
                .putObject("settings");
        return data;
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
            synchronized (stateLock) {
                consentRevoked.remove(credentialId); // the admin has just consented again
            }
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

    private static ApiError notFound(String message) {
        return new ApiError(404, "not_found_error", message);
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
                    if (req.path().startsWith(f.pathPrefix())
                            && (f.method() == null || f.method().equals(req.method()))) {
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
        sendError(ex, requestId, status, typeAndMessage[0], faultMessage != null ? faultMessage : typeAndMessage[1],
                null, retryAfter);
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
                uri.getRawQuery(), Collections.unmodifiableMap(headers), body, Instant.now());
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
                                  JsonNode providerError, Integer retryAfterSeconds) throws IOException {
        ObjectNode out = JSON.createObjectNode().put("request_id", requestId);
        ObjectNode error = out.putObject("error").put("type", type).put("message", message);
        if (providerError != null) error.set("provider_error", providerError);
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
