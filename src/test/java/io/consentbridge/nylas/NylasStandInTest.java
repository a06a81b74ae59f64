package io.consentbridge.nylas;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NylasStandInTest {

    private static final String KEY = "nyk_test_key";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CRED_BODY = """
            {"name":"contoso","credential_type":"adminconsent",
             "credential_data":{"client_id":"azure-app","client_secret":"s3cret","tenant":"contoso.onmicrosoft.com"}}""";

    private final HttpClient http = HttpClient.newHttpClient(); // does not follow redirects by default
    private NylasStandIn nylas;

    @BeforeEach
    void start() {
        nylas = new NylasStandIn(KEY).start();
    }

    @AfterEach
    void stop() {
        nylas.close();
    }

    @Test
    void rejectsMissingOrWrongBearer() throws Exception {
        HttpResponse<String> none = send("POST", "/v3/connectors/microsoft/creds", CRED_BODY, null);
        HttpResponse<String> wrong = send("POST", "/v3/connectors/microsoft/creds", CRED_BODY, "nope");

        for (HttpResponse<String> r : List.of(none, wrong)) {
            assertThat(r.statusCode()).isEqualTo(401);
            JsonNode body = JSON.readTree(r.body());
            assertThat(body.at("/error/type").asText()).isEqualTo("unauthorized");
            assertThat(r.headers().firstValue("x-request-id")).hasValue(body.get("request_id").asText());
            assertThat(schema("error-response").validate(body)).isEmpty();
        }
        assertThat(nylas.credentialsCreated()).isZero();
        assertThat(nylas.requests("POST", "/v3/connectors/microsoft/creds")).hasSize(2);
    }

    @Test
    void rejectsInvalidBodies() throws Exception {
        HttpResponse<String> noType = post("/v3/connectors/microsoft/creds",
                "{\"name\":\"x\",\"credential_data\":{}}");
        assertThat(noType.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(noType.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(JSON.readTree(noType.body()).at("/error/message").asText()).contains("credential_type");

        String credId = createCredential();
        HttpResponse<String> google = post("/v3/connect/custom",
                "{\"provider\":\"google\",\"settings\":{\"email_address\":\"a@contoso.com\",\"credential_id\":\"" + credId + "\"}}");
        assertThat(google.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(google.body()).at("/error/message").asText()).contains("provider");

        HttpResponse<String> unknownCred = post("/v3/connect/custom",
                "{\"provider\":\"microsoft\",\"settings\":{\"email_address\":\"a@contoso.com\",\"credential_id\":\"nope\"}}");
        assertThat(unknownCred.statusCode()).isEqualTo(400);

        HttpResponse<String> notJson = send("POST", "/v3/connectors/microsoft/creds", CRED_BODY, KEY, "text/plain");
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(post("/v3/connectors/google/creds", CRED_BODY).statusCode()).isEqualTo(404);
        assertThat(post("/v3/connectors/outlook/creds", CRED_BODY).statusCode()).isEqualTo(400);
        assertThat(nylas.grantCalls()).isZero();
    }

    @Test
    void createsCredentialOnceAndReusesIt() throws Exception {
        HttpResponse<String> first = post("/v3/connectors/microsoft/creds", CRED_BODY);
        HttpResponse<String> again = post("/v3/connectors/microsoft/creds", CRED_BODY);
        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(again.statusCode()).isEqualTo(201);
        JsonNode data = JSON.readTree(first.body()).get("data");
        assertThat(data.get("credential_type").asText()).isEqualTo("adminconsent");
        assertThat(data.get("created_at").isIntegralNumber()).isTrue();
        assertThat(JSON.readTree(again.body()).at("/data/id").asText()).isEqualTo(data.get("id").asText());

        // Same name, different data: names must be unique.
        HttpResponse<String> clash = post("/v3/connectors/microsoft/creds",
                "{\"name\":\"contoso\",\"credential_type\":\"adminconsent\",\"credential_data\":{\"tenant\":\"other\"}}");
        assertThat(clash.statusCode()).isEqualTo(400);
        assertThat(nylas.credentialsCreated()).isEqualTo(1);

        HttpResponse<String> list = send("GET", "/v3/connectors/microsoft/creds?limit=5&offset=0", null, KEY);
        JsonNode listBody = JSON.readTree(list.body());
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(listBody.get("data")).hasSize(1);
        assertThat(listBody.get("limit").asInt()).isEqualTo(5);
        assertThat(nylas.requests("POST", "/v3/connectors/microsoft/creds").get(0).json().at("/credential_data/tenant")
                .asText()).isEqualTo("contoso.onmicrosoft.com");
    }

    @Test
    void createsGrantAndReturnsSameIdOnRepeat() throws Exception {
        String credId = createCredential();
        String body = "{\"provider\":\"microsoft\",\"settings\":{\"email_address\":\"ann@contoso.com\",\"credential_id\":\""
                + credId + "\"}}";
        HttpResponse<String> first = post("/v3/connect/custom", body);
        HttpResponse<String> again = post("/v3/connect/custom", body);

        assertThat(first.statusCode()).isEqualTo(201);
        JsonNode json = JSON.readTree(first.body());
        assertThat(schema("custom-auth-response").validate(json)).isEmpty();
        assertThat(json.at("/data/email").asText()).isEqualTo("ann@contoso.com");
        assertThat(json.at("/data/credential_id").asText()).isEqualTo(credId);
        assertThat(JSON.readTree(again.body()).at("/data/id").asText()).isEqualTo(json.at("/data/id").asText());
        assertThat(nylas.grantCalls()).isEqualTo(2);
        assertThat(nylas.grants()).hasSize(1);
    }

    @Test
    void injectsScriptedAndPredicateFaults() throws Exception {
        nylas.failNext("/v3/connectors", 1, 429, 7);
        HttpResponse<String> limited = post("/v3/connectors/microsoft/creds", CRED_BODY);
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.headers().firstValue("Retry-After")).hasValue("7");
        assertThat(JSON.readTree(limited.body()).at("/error/type").asText()).isEqualTo("rate_limit_error");
        assertThat(nylas.credentialsCreated()).isZero();

        String credId = createCredential(); // the fault was used up
        nylas.failWhen(r -> r.json().at("/settings/email_address").asText().equals("bad@contoso.com"), 504);
        assertThat(post("/v3/connect/custom", grantBody("bad@contoso.com", credId)).statusCode()).isEqualTo(504);
        assertThat(post("/v3/connect/custom", grantBody("bad@contoso.com", credId)).statusCode()).isEqualTo(504);
        assertThat(post("/v3/connect/custom", grantBody("ok@contoso.com", credId)).statusCode()).isEqualTo(201);
        nylas.clearFaults();
        assertThat(post("/v3/connect/custom", grantBody("bad@contoso.com", credId)).statusCode()).isEqualTo(201);
    }

    @Test
    void consentUrlRedirectsBackWithStateOrError() throws Exception {
        String credId = createCredential();
        String url = "/v3/connect/auth?client_id=nylas-app&provider=microsoft&response_type=adminconsent"
                + "&redirect_uri=" + enc("https://app.example.com/cb?x=1") + "&state=" + enc("st 1")
                + "&credential_id=" + credId;

        HttpResponse<String> ok = send("GET", url, null, null); // a browser sends no API key
        assertThat(ok.statusCode()).isEqualTo(302);
        assertThat(ok.headers().firstValue("Location"))
                .hasValue("https://app.example.com/cb?x=1&admin_consent=true&state=st+1");

        nylas.denyConsent("AADSTS65004: User declined to consent");
        String denied = send("GET", url, null, null).headers().firstValue("Location").orElseThrow();
        assertThat(denied).startsWith("https://app.example.com/cb?x=1&error=access_denied&error_description=AADSTS65004")
                .endsWith("&state=st+1");

        assertThat(send("GET", url.replace(credId, "unknown"), null, null).statusCode()).isEqualTo(400);
        assertThat(send("GET", url.replace("adminconsent", "code"), null, null).statusCode()).isEqualTo(400);
        assertThat(send("GET", "/v3/nothing", null, KEY).statusCode()).isEqualTo(404);
    }

    @Test
    void servesConcurrentCallsConsistently() throws Exception {
        nylas.delay(Duration.ofMillis(50)); // widen the race window
        List<CompletableFuture<HttpResponse<String>>> creds = IntStream.range(0, 24)
                .mapToObj(i -> sendAsync("/v3/connectors/microsoft/creds", CRED_BODY)).toList();
        Set<String> ids = new HashSet<>();
        for (var f : creds) {
            assertThat(f.get().statusCode()).isEqualTo(201);
            ids.add(JSON.readTree(f.get().body()).at("/data/id").asText());
        }
        assertThat(ids).hasSize(1);
        assertThat(nylas.credentialsCreated()).isEqualTo(1);

        String credId = ids.iterator().next();
        List<CompletableFuture<HttpResponse<String>>> grants = new ArrayList<>();
        for (int i = 0; i < 24; i++) grants.add(sendAsync("/v3/connect/custom", grantBody("u" + (i % 12) + "@contoso.com", credId)));
        for (var f : grants) assertThat(f.get().statusCode()).isEqualTo(201);
        assertThat(nylas.grants()).hasSize(12);
        assertThat(nylas.grantCalls()).isEqualTo(24);
    }

    // ---------------------------------------------------------------- helpers

    private CompletableFuture<HttpResponse<String>> sendAsync(String path, String body) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create(nylas.baseUri() + path))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String createCredential() throws Exception {
        HttpResponse<String> r = post("/v3/connectors/microsoft/creds", CRED_BODY);
        assertThat(r.statusCode()).isEqualTo(201);
        return JSON.readTree(r.body()).at("/data/id").asText();
    }

    private static String grantBody(String email, String credId) throws Exception {
        return JSON.writeValueAsString(Map.of("provider", "microsoft",
                "settings", Map.of("email_address", email, "credential_id", credId)));
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return send("POST", path, body, KEY);
    }

    private HttpResponse<String> send(String method, String path, String body, String bearer) throws Exception {
        return send(method, path, body, bearer, "application/json");
    }

    private HttpResponse<String> send(String method, String path, String body, String bearer, String contentType)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(nylas.baseUri() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", contentType);
        if (bearer != null) b.header("Authorization", "Bearer " + bearer);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static JsonSchema schema(String name) throws Exception {
        try (InputStream in = NylasStandInTest.class.getResourceAsStream("/nylas/" + name + ".schema.json")) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        }
    }
}
