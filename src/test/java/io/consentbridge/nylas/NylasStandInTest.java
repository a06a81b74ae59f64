package io.consentbridge.nylas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.NoSuchElementException;
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
    void answersRequestsOverItsRateLimitWithNylasOwn429() throws Exception {
        nylas.rateLimit(3);
        List<Integer> statuses = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            statuses.add(send("GET", "/v3/connectors/microsoft/creds", null, KEY).statusCode());
        }
        // Five in well under a second: three accepted, two over the limit.
        assertThat(statuses).containsExactly(200, 200, 200, 429, 429);
        HttpResponse<String> over = send("GET", "/v3/connectors/microsoft/creds", null, KEY);
        JsonNode error = JSON.readTree(over.body()).get("error");
        assertThat(error.get("type").asText()).isEqualTo("nylas_rate_limit_exceeded");
        assertThat(error.has("provider_error")).isFalse();
        assertThat(over.headers().firstValue("Retry-After")).isEmpty();
        assertThat(nylas.rateLimited()).isEqualTo(3);
        // Every request is recorded with its arrival, the refused ones too.
        assertThat(nylas.requests()).hasSize(6);

        Thread.sleep(1100);
        assertThat(send("GET", "/v3/connectors/microsoft/creds", null, KEY).statusCode()).isEqualTo(200);
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

    // ---------------------------------------------------------------- lifecycle: credentials

    @Test
    void patchReplacesTheWholeCredentialData() throws Exception {
        String credId = createCredential();
        String path = "/v3/connectors/microsoft/creds/" + credId;
        String rotation = "{\"credential_data\":{\"client_id\":\"azure-app\",\"client_secret\":\"n3w\"}}";

        HttpResponse<String> ok = send("PATCH", path, rotation, KEY);
        assertThat(ok.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(ok.body());
        assertThat(body.at("/data/id").asText()).isEqualTo(credId);
        assertThat(body.at("/data/name").asText()).isEqualTo("contoso");
        assertThat(body.at("/data/updated_at").asLong()).isGreaterThanOrEqualTo(body.at("/data/created_at").asLong());
        assertThat(schema("update-credential-response").validate(withoutCredentialType(body))).isEmpty();
        // Replaced as a whole: the tenant that was not sent again is gone.
        assertThat(nylas.credentialData(credId)).isEqualTo(JSON.readTree("{\"client_id\":\"azure-app\",\"client_secret\":\"n3w\"}"));
        assertThat(nylas.requests("PATCH", path)).hasSize(1);
        assertThat(nylas.requests("PATCH", path).get(0).json().at("/credential_data/client_secret").asText()).isEqualTo("n3w");

        HttpResponse<String> renamed = send("PATCH", path, "{\"name\":\"contoso-2\"}", KEY);
        assertThat(renamed.statusCode()).isEqualTo(200);
        assertThat(nylas.credential(credId).orElseThrow().name()).isEqualTo("contoso-2");
        assertThat(nylas.credentialData(credId).get("client_secret").asText()).isEqualTo("n3w"); // data untouched
        assertThat(nylas.credentialsCreated()).isEqualTo(1);
    }

    @Test
    void patchRefusesHalfARotationBadBodiesAndUnknownIds() throws Exception {
        String credId = createCredential();
        String path = "/v3/connectors/microsoft/creds/" + credId;
        JsonNode before = nylas.credentialData(credId);

        for (String half : List.of("{\"credential_data\":{\"client_secret\":\"n3w\"}}",
                "{\"credential_data\":{\"client_id\":\"azure-app\",\"tenant\":\"t\"}}",
                "{\"credential_data\":{\"client_id\":\"azure-app\",\"client_secret\":\"\"}}")) {
            HttpResponse<String> r = send("PATCH", path, half, KEY);
            assertThat(r.statusCode()).as(half).isEqualTo(400);
            assertThat(JSON.readTree(r.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
            assertThat(JSON.readTree(r.body()).at("/error/message").asText()).contains("client_id and client_secret together");
        }
        // Schema failures (types from the OpenAPI request body).
        assertError(send("PATCH", path, "{\"credential_data\":\"n3w\"}", KEY), 400, "invalid_request_error", "credential_data");
        assertError(send("PATCH", path, "{\"name\":5}", KEY), 400, "invalid_request_error", "name");
        assertError(send("PATCH", path, "[]", KEY), 400, "invalid_request_error", "");
        assertError(send("PATCH", path, "{\"name\":\"x\"}", KEY, "text/plain"), 400, "invalid_request_error", "Content-Type");
        // Names stay unique.
        post("/v3/connectors/microsoft/creds", CRED_BODY.replace("\"contoso\"", "\"fabrikam\""));
        assertError(send("PATCH", path, "{\"name\":\"fabrikam\"}", KEY), 400, "invalid_request_error", "unique");
        // Only with the API key; an unknown id is 404.
        assertError(send("PATCH", path, "{\"name\":\"y\"}", null), 401, "unauthorized", "");
        assertError(send("PATCH", "/v3/connectors/microsoft/creds/nope", "{\"name\":\"y\"}", KEY), 404, "not_found_error", "");
        // The Node SDK once sent PUT: the API wants PATCH.
        assertThat(send("PUT", path, "{\"name\":\"y\"}", KEY).statusCode()).isEqualTo(405);

        assertThat(nylas.credentialData(credId)).isEqualTo(before);
        assertThat(nylas.credential(credId).orElseThrow().name()).isEqualTo("contoso");
    }

    @Test
    void deletedCredentialIsGoneAndItsGrantsStopWorking() throws Exception {
        String credId = createCredential();
        String grantId = createGrant("ann@contoso.com", credId);
        String path = "/v3/connectors/microsoft/creds/" + credId;

        assertError(send("DELETE", path, null, null), 401, "unauthorized", "");
        HttpResponse<String> deleted = send("DELETE", path, null, KEY);
        assertThat(deleted.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(deleted.body());
        assertThat(schema("delete-credential-response").validate(body)).isEmpty();
        assertThat(body.get("request_id").asText()).isNotBlank();
        assertThat(body.has("data")).isFalse();

        assertError(send("DELETE", path, null, KEY), 404, "not_found_error", "");
        assertError(send("GET", path, null, KEY), 404, "not_found_error", "");
        assertError(send("PATCH", path, "{\"name\":\"y\"}", KEY), 404, "not_found_error", "");
        assertError(post("/v3/connect/custom", grantBody("bob@contoso.com", credId)), 400, "invalid_request_error",
                "credential not found");
        assertThat(nylas.credential(credId)).isEmpty();
        assertThat(nylas.credentials()).isEmpty();
        assertThatThrownBy(() -> nylas.credentialData(credId)).isInstanceOf(NoSuchElementException.class);
        // "Any grants that use the deleted credential stop working right away" (spec).
        assertThat(grantStatus(grantId)).isEqualTo("invalid");

        // The name is free again: a new credential, with a new id.
        assertThat(createCredential()).isNotEqualTo(credId);
        assertThat(nylas.credentialsCreated()).isEqualTo(2);
    }

    // ---------------------------------------------------------------- lifecycle: grants

    @Test
    void getsAGrantAndExpiresAndReauthenticatesIt() throws Exception {
        String credId = createCredential();
        String grantId = createGrant("Ann@contoso.com", credId);

        HttpResponse<String> got = send("GET", "/v3/grants/" + grantId, null, KEY);
        assertThat(got.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(got.body());
        assertThat(schema("get-grant-response").validate(body)).isEmpty();
        assertThat(body.at("/data/grant_status").asText()).isEqualTo("valid");
        assertThat(body.at("/data/email").asText()).isEqualTo("Ann@contoso.com");
        assertThat(body.at("/data/credential_id").asText()).isEqualTo(credId);
        assertError(send("GET", "/v3/grants/" + grantId, null, null), 401, "unauthorized", "");
        assertError(send("GET", "/v3/grants/nope", null, KEY), 404, "not_found_error", "");

        assertThat(nylas.expireGrant("ann@contoso.com")).isEqualTo(grantId);
        assertThat(grantStatus(grantId)).isEqualTo("invalid");
        assertThat(nylas.grant("ann@contoso.com").orElseThrow().valid()).isFalse();

        // Re-authentication keeps the id and makes the grant valid again.
        assertThat(createGrant("ann@contoso.com", credId)).isEqualTo(grantId);
        assertThat(grantStatus(grantId)).isEqualTo("valid");

        String bob = createGrant("bob@contoso.com", credId);
        assertThat(nylas.expireGrants(credId)).containsExactly(grantId, bob);
        assertThat(nylas.expireGrants(g -> false)).isEmpty();
        assertThat(nylas.grants()).extracting(NylasStandIn.Grant::grantStatus).containsOnly("invalid");
        assertThatThrownBy(() -> nylas.expireGrant("nobody@contoso.com")).isInstanceOf(NoSuchElementException.class);
    }

    @Test
    void deletedGrantIsGoneAndANewAuthMakesANewId() throws Exception {
        String credId = createCredential();
        String grantId = createGrant("ann@contoso.com", credId);
        nylas.expireGrant("ann@contoso.com"); // deleting an expired grant works the same

        assertError(send("DELETE", "/v3/grants/" + grantId, null, null), 401, "unauthorized", "");
        HttpResponse<String> deleted = send("DELETE", "/v3/grants/" + grantId, null, KEY);
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(schema("delete-grant-response").validate(JSON.readTree(deleted.body()))).isEmpty();
        assertError(send("DELETE", "/v3/grants/" + grantId, null, KEY), 404, "not_found_error", "");
        assertError(send("GET", "/v3/grants/" + grantId, null, KEY), 404, "not_found_error", "");
        assertThat(nylas.grants()).isEmpty();
        assertThat(nylas.deletedGrantIds()).containsExactly(grantId);

        String again = createGrant("ann@contoso.com", credId);
        assertThat(again).isNotEqualTo(grantId);
        assertThat(grantStatus(again)).isEqualTo("valid");

        // Deleted from outside (dashboard, another app): the same, without a request.
        assertThat(nylas.deleteGrantExternally("ANN@contoso.com")).isEqualTo(again);
        assertError(send("GET", "/v3/grants/" + again, null, KEY), 404, "not_found_error", "");
        assertThat(nylas.deletedGrantIds()).containsExactly(grantId, again);
        assertThat(createGrant("ann@contoso.com", credId)).isNotIn(grantId, again);
        assertThat(nylas.requests("DELETE", "/v3/grants/" + again)).isEmpty();
    }

    @Test
    void aGrantIdOverrideIsUsedOnceSoADeletedGrantComesBackUnderANewId() throws Exception {
        String credId = createCredential();
        nylas.grantIdFor("ann@contoso.com", "fixed-id");
        assertThat(createGrant("ann@contoso.com", credId)).isEqualTo("fixed-id");
        assertThat(createGrant("ann@contoso.com", credId)).isEqualTo("fixed-id");
        nylas.deleteGrantExternally("ann@contoso.com");
        assertThat(createGrant("ann@contoso.com", credId)).isNotEqualTo("fixed-id");
    }

    @Test
    void listsGrantsWithFiltersAndPages() throws Exception {
        String credId = createCredential();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) ids.add(createGrant("u" + i + "@contoso.com", credId));
        nylas.expireGrant("u1@contoso.com");
        nylas.expireGrant("u3@contoso.com");

        JsonNode all = listGrants("");
        assertThat(schema("list-grants-response").validate(all)).isEmpty();
        assertThat(all.get("limit").asInt()).isEqualTo(10);
        assertThat(all.get("offset").asInt()).isZero();
        // The spec's defaults: sort_by created_at, order_by desc.
        assertThat(grantIds(all)).containsExactly(ids.get(4), ids.get(3), ids.get(2), ids.get(1), ids.get(0));
        assertThat(grantIds(listGrants("?order_by=asc"))).containsExactlyElementsOf(ids);
        assertThat(grantIds(listGrants("?order_by=asc&limit=2&offset=2"))).containsExactly(ids.get(2), ids.get(3));
        assertThat(grantIds(listGrants("?order_by=asc&limit=2&offset=4"))).containsExactly(ids.get(4)); // short page ends it
        assertThat(grantIds(listGrants("?offset=5"))).isEmpty();
        assertThat(grantIds(listGrants("?order_by=asc&grant_status=invalid"))).containsExactly(ids.get(1), ids.get(3));
        assertThat(grantIds(listGrants("?grant_status=valid"))).hasSize(3);
        assertThat(grantIds(listGrants("?email=" + enc("U2@contoso.com")))).containsExactly(ids.get(2));
        assertThat(grantIds(listGrants("?provider=microsoft&limit=200"))).hasSize(5);
        assertThat(grantIds(listGrants("?provider=google"))).isEmpty();
        assertThat(listGrants("?limit=3&offset=1").get("limit").asInt()).isEqualTo(3);
        JsonNode invalid = listGrants("?grant_status=invalid");
        for (JsonNode g : invalid.get("data")) assertThat(g.get("grant_status").asText()).isEqualTo("invalid");

        assertError(send("GET", "/v3/grants?limit=201", null, KEY), 400, "invalid_request_error", "limit");
        assertError(send("GET", "/v3/grants?limit=0", null, KEY), 400, "invalid_request_error", "limit");
        assertError(send("GET", "/v3/grants?offset=-1", null, KEY), 400, "invalid_request_error", "offset");
        assertError(send("GET", "/v3/grants?grant_status=expired", null, KEY), 400, "invalid_request_error", "grant_status");
        assertError(send("GET", "/v3/grants?order_by=up", null, KEY), 400, "invalid_request_error", "order_by");
        assertError(send("GET", "/v3/grants", null, null), 401, "unauthorized", "");
        assertThat(send("POST", "/v3/grants", "{}", KEY).statusCode()).isEqualTo(405);
        assertThat(nylas.requests("GET", "/v3/grants")).hasSize(18);
    }

    // ---------------------------------------------------------------- lifecycle: tenant-wide causes

    @Test
    void revokedConsentRefusesCustomAuthUntilTheAdminConsentsAgain() throws Exception {
        String credId = createCredential();
        String grantId = createGrant("ann@contoso.com", credId);
        nylas.revokeConsent(credId);
        assertThat(nylas.expireGrants(credId)).containsExactly(grantId);

        HttpResponse<String> refused = post("/v3/connect/custom", grantBody("ann@contoso.com", credId));
        assertError(refused, 400, "token.exchange_failed", "AADSTS65001");
        JsonNode error = JSON.readTree(refused.body());
        assertThat(schema("error-response").validate(error)).isEmpty();
        assertThat(error.at("/error/message").asText())
                .isEqualTo("AADSTS65001: The user or administrator has not consented to use the application with ID "
                        + "'azure-app'. Send an interactive authorization request for this user and resource.");
        assertThat(error.at("/error/provider_error/error").asText()).isEqualTo("invalid_grant");
        assertThat(error.at("/error/provider_error/error_codes/0").asInt()).isEqualTo(65001);
        assertThat(error.at("/error/provider_error/error_description").asText()).startsWith("AADSTS65001:");
        assertError(post("/v3/connect/custom", grantBody("new@contoso.com", credId)), 400, "token.exchange_failed", "AADSTS65001");
        assertThat(grantStatus(grantId)).isEqualTo("invalid");
        assertThat(nylas.grants()).hasSize(1);
        assertThat(nylas.grantCalls()).isEqualTo(1);

        // The admin opens a fresh consent link and consents: custom auth works again, same grant id.
        String consent = "/v3/connect/auth?client_id=nylas-app&provider=microsoft&response_type=adminconsent"
                + "&redirect_uri=" + enc("https://app.example.com/cb") + "&credential_id=" + credId;
        nylas.denyConsent("AADSTS65004: User declined to consent");
        send("GET", consent, null, null);
        assertError(post("/v3/connect/custom", grantBody("ann@contoso.com", credId)), 400, "token.exchange_failed", "AADSTS65001");
        nylas.allowConsent();
        assertThat(send("GET", consent, null, null).statusCode()).isEqualTo(302);
        assertThat(createGrant("ann@contoso.com", credId)).isEqualTo(grantId);
        assertThat(grantStatus(grantId)).isEqualTo("valid");

        nylas.revokeConsent(credId);
        nylas.restoreConsent(credId);
        assertThat(createGrant("ann@contoso.com", credId)).isEqualTo(grantId);
        assertThatThrownBy(() -> nylas.revokeConsent("nope")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void expiredSecretRefusesCustomAuthUntilAPatchBringsANewSecret() throws Exception {
        String credId = createCredential();
        String grantId = createGrant("ann@contoso.com", credId);
        nylas.expireSecret(credId);
        nylas.expireGrants(credId);

        HttpResponse<String> refused = post("/v3/connect/custom", grantBody("ann@contoso.com", credId));
        assertError(refused, 400, "token.exchange_failed", "AADSTS7000222");
        JsonNode error = JSON.readTree(refused.body());
        assertThat(error.at("/error/message").asText()).isEqualTo("AADSTS7000222: The provided client secret keys for app "
                + "'azure-app' are expired. Visit the Azure portal to create new keys for your app: "
                + "https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: "
                + "https://aka.ms/certCreds.");
        assertThat(error.at("/error/provider_error/error").asText()).isEqualTo("invalid_client");
        assertThat(error.at("/error/provider_error/error_codes/0").asInt()).isEqualTo(7000222);

        // Both causes: the secret is reported (the client is checked before consent).
        nylas.revokeConsent(credId);
        assertError(post("/v3/connect/custom", grantBody("ann@contoso.com", credId)), 400, "token.exchange_failed", "AADSTS7000222");
        nylas.restoreConsent(credId);

        String path = "/v3/connectors/microsoft/creds/" + credId;
        String sameSecret = "{\"credential_data\":{\"client_id\":\"azure-app\",\"client_secret\":\"s3cret\"}}";
        String newSecret = "{\"credential_data\":{\"client_id\":\"azure-app\",\"client_secret\":\"n3w\"}}";
        // The same secret sent again is still expired.
        assertThat(send("PATCH", path, sameSecret, KEY).statusCode()).isEqualTo(200);
        assertError(post("/v3/connect/custom", grantBody("ann@contoso.com", credId)), 400, "token.exchange_failed", "AADSTS7000222");
        // A rotation with a new secret clears the cause.
        assertThat(send("PATCH", path, newSecret, KEY).statusCode()).isEqualTo(200);
        assertThat(createGrant("ann@contoso.com", credId)).isEqualTo(grantId);
        assertThat(grantStatus(grantId)).isEqualTo("valid");

        nylas.expireSecret(credId);
        nylas.restoreSecret(credId);
        assertThat(createGrant("ann@contoso.com", credId)).isEqualTo(grantId);
    }

    @Test
    void theAadstsCodeCanBeInTheMessageOrInTheProviderErrorOnly() throws Exception {
        String credId = createCredential();
        nylas.revokeConsent(credId);

        nylas.aadstsIn(NylasStandIn.AadstsPlacement.MESSAGE);
        JsonNode messageOnly = JSON.readTree(post("/v3/connect/custom", grantBody("a@contoso.com", credId)).body());
        assertThat(messageOnly.at("/error/message").asText()).startsWith("AADSTS65001:");
        assertThat(messageOnly.at("/error").has("provider_error")).isFalse();

        nylas.aadstsIn(NylasStandIn.AadstsPlacement.PROVIDER_ERROR);
        HttpResponse<String> r = post("/v3/connect/custom", grantBody("a@contoso.com", credId));
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode providerOnly = JSON.readTree(r.body());
        assertThat(providerOnly.at("/error/type").asText()).isEqualTo("token.exchange_failed");
        assertThat(providerOnly.at("/error/message").asText()).doesNotContain("AADSTS");
        assertThat(providerOnly.at("/error/provider_error/error_description").asText()).startsWith("AADSTS65001:");
        assertThat(schema("error-response").validate(providerOnly)).isEmpty();
    }

    // ---------------------------------------------------------------- lifecycle: faults

    @Test
    void scriptedFaultsReachTheLifecycleCalls() throws Exception {
        String credId = createCredential();
        String grantId = createGrant("ann@contoso.com", credId);
        String grantPath = "/v3/grants/" + grantId;

        nylas.failNext("DELETE", "/v3/grants/", 2, 500, null);
        assertThat(send("GET", grantPath, null, KEY).statusCode()).isEqualTo(200); // GETs are not scripted
        assertError(send("DELETE", grantPath, null, KEY), 500, "api.internal_error", "");
        assertError(send("DELETE", grantPath, null, KEY), 500, "api.internal_error", "");
        assertThat(grantStatus(grantId)).isEqualTo("valid"); // a failed delete leaves the grant
        assertThat(send("DELETE", grantPath, null, KEY).statusCode()).isEqualTo(200);
        assertThat(nylas.requests("DELETE", grantPath)).hasSize(3);

        nylas.failNext("/v3/grants", 1, 429, 3);
        HttpResponse<String> limited = send("GET", "/v3/grants?limit=200", null, KEY);
        assertError(limited, 429, "rate_limit_error", "");
        assertThat(limited.headers().firstValue("Retry-After")).hasValue("3");
        assertThat(send("GET", "/v3/grants?limit=200", null, KEY).statusCode()).isEqualTo(200);

        nylas.failWhen(r -> r.method().equals("PATCH"), 503);
        String credPath = "/v3/connectors/microsoft/creds/" + credId;
        String rotation = "{\"credential_data\":{\"client_id\":\"azure-app\",\"client_secret\":\"n3w\"}}";
        assertThat(send("PATCH", credPath, rotation, KEY).statusCode()).isEqualTo(503);
        assertThat(nylas.credentialData(credId).get("client_secret").asText()).isEqualTo("s3cret");
        nylas.clearFaults();
        assertThat(send("PATCH", credPath, rotation, KEY).statusCode()).isEqualTo(200);

        nylas.failNext("DELETE", "/v3/connectors/", 1, 429, 1);
        assertThat(send("DELETE", credPath, null, KEY).headers().firstValue("Retry-After")).hasValue("1");
        assertThat(send("DELETE", credPath, null, KEY).statusCode()).isEqualTo(200);
    }

    // ---------------------------------------------------------------- helpers

    private String createGrant(String email, String credId) throws Exception {
        HttpResponse<String> r = post("/v3/connect/custom", grantBody(email, credId));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return JSON.readTree(r.body()).at("/data/id").asText();
    }

    private String grantStatus(String grantId) throws Exception {
        HttpResponse<String> r = send("GET", "/v3/grants/" + grantId, null, KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).at("/data/grant_status").asText();
    }

    private JsonNode listGrants(String query) throws Exception {
        HttpResponse<String> r = send("GET", "/v3/grants" + query, null, KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static List<String> grantIds(JsonNode list) {
        List<String> ids = new ArrayList<>();
        list.get("data").forEach(g -> ids.add(g.get("id").asText()));
        return ids;
    }

    /** The standard envelope with this status and type, a message containing {@code messagePart}, and x-request-id. */
    private static void assertError(HttpResponse<String> r, int status, String type, String messagePart) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.at("/error/type").asText()).isEqualTo(type);
        assertThat(body.at("/error/message").asText()).contains(messagePart);
        assertThat(r.headers().firstValue("x-request-id")).hasValue(body.get("request_id").asText());
        assertThat(schema("error-response").validate(body)).isEmpty();
    }

    /**
     * The stand-in answers {@code credential_type} as Nylas does, though the spec's {@code CredentialObject}
     * forbids extra fields (README "Known spec/reality mismatch"); everything else must match the schema.
     */
    private static JsonNode withoutCredentialType(JsonNode body) {
        JsonNode copy = body.deepCopy();
        ((ObjectNode) copy.get("data")).remove("credential_type");
        return copy;
    }

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
