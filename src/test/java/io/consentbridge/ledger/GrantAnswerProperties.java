package io.consentbridge.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.zaxxer.hikari.HikariDataSource;
import io.consentbridge.consent.ConsentLink;
import io.consentbridge.events.EventSchemas;
import io.consentbridge.grants.GrantWork;
import io.consentbridge.inbound.OnboardingRequest;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Whatever {@code scope} Nylas answers a grant with (left out, null, a list of any strings, of any
 * length, a list too long, a string, a number, an object, a list of anything), recording the grant
 * either keeps it, with a {@code grant.created} that fits its schema and 256 KiB and carries the
 * scopes as answered, or refuses it with a {@link LedgerDataException} (reported once as
 * {@code grant.failed} by the grant route, never called again), and nothing else.
 */
class GrantAnswerProperties {
    static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    @Provide
    Arbitrary<JsonNode> scopes() {
        Arbitrary<String> anyText = Arbitraries.strings().all().ofMaxLength(300);
        Arbitrary<String> realistic = Arbitraries.of("https://graph.microsoft.com/Mail.Read", "offline_access", "openid",
                "https://graph.microsoft.com/Calendars.ReadWrite", "profile", "email");
        Arbitrary<JsonNode> text = Arbitraries.oneOf(anyText, realistic).map(JSON::textNode);
        Arbitrary<JsonNode> strange = Arbitraries.oneOf(
                Arbitraries.integers().map(i -> (JsonNode) JSON.numberNode(i)),
                Arbitraries.just(JSON.nullNode()),
                Arbitraries.just(JSON.booleanNode(true)),
                Arbitraries.just((JsonNode) JSON.objectNode().put("scope", "Mail.Read")),
                Arbitraries.just((JsonNode) JSON.arrayNode().add("nested")));
        Arbitrary<JsonNode> strings = text.list().ofMaxSize(130).map(GrantAnswerProperties::array);
        Arbitrary<JsonNode> mixed = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(9, text), net.jqwik.api.Tuple.of(1, strange)).list().ofMaxSize(20).map(GrantAnswerProperties::array);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, strings),
                net.jqwik.api.Tuple.of(2, mixed),
                net.jqwik.api.Tuple.of(1, strange),
                net.jqwik.api.Tuple.of(1, text),
                net.jqwik.api.Tuple.of(1, Arbitraries.just((JsonNode) null)));
    }

    static JsonNode array(List<JsonNode> items) {
        ArrayNode array = JSON.arrayNode();
        items.forEach(array::add);
        return array;
    }

    @Property(tries = 150)
    void aGrantIsKeptWithItsScopesOrRefusedAsDataTheLedgerCannotKeep(@ForAll("scopes") JsonNode scope) throws Exception {
        try (OneLedger ledgers = new OneLedger()) {
            ObjectMapper mapper = ledgers.mapper;
            HikariDataSource db = ledgers.db;
            ConsentLedger ledger = ledgers.ledger;
            OnboardingRequest request = new OnboardingRequest("req-1", "contoso", null, null, null, null, null, List.of("ana@contoso.com"), List.of());
            ledger.admitOnboarding(request);
            ConsentLink link = ledgers.links.issue("cred-1", null);
            ledger.storeLink(request, link);
            ledger.markLinkPublished(request);
            ledger.useState(link.state(), true, null, null);
            new InstanceHeartbeat(db, ledgers.clock, "test", Duration.ofDays(3650)).beat();
            GrantWork work = new GrantQueue(db, "test", 10).claim().get(0);
            forgetEvents(db);

            ObjectNode grant = JSON.objectNode().put("id", "grant-1").put("grant_status", "valid");
            if (scope != null) {
                grant.set("scope", scope);
            }
            List<String> keepable = keepable(scope);
            Statistics.collect(keepable == null ? "refused" : "kept");
            if (keepable == null) {
                assertThatThrownBy(() -> ledger.recordGrant(work, grant, "nylas-1")).isInstanceOf(LedgerDataException.class);
                assertThat(CallbackGroupProperties.rows(db, "select 1 from outbox")).as("events").isEmpty();
                return;
            }
            ledger.recordGrant(work, grant, "nylas-1");
            List<List<String>> payloads = CallbackGroupProperties.rows(db, "select payload from outbox");
            assertThat(payloads).hasSize(1);
            String payload = payloads.get(0).get(0);
            assertThat(payload.getBytes(StandardCharsets.UTF_8).length).as("bytes of the event").isLessThanOrEqualTo(256 * 1024);
            JsonNode event = mapper.readTree(payload);
            assertThat(event.path("type").asText()).isEqualTo("grant.created");
            assertThat(EventSchemas.problems("grant.created", event.path("data"))).as("schema problems").isEmpty();
            List<String> carried = new ArrayList<>();
            event.path("data").path("scope").forEach(s -> carried.add(s.asText()));
            assertThat(carried).isEqualTo(keepable);
        }
    }

    /** The scopes the ledger keeps for this answer, or null when it is one the ledger cannot keep. */
    static List<String> keepable(JsonNode scope) {
        if (scope == null || scope.isNull()) {
            return List.of();
        }
        if (!scope.isArray() || scope.size() > 100) {
            return null;
        }
        List<String> kept = new ArrayList<>();
        for (JsonNode one : scope) {
            if (!one.isTextual() || one.textValue().length() > 256) {
                return null;
            }
            kept.add(one.textValue());
        }
        return kept;
    }

    static void forgetEvents(HikariDataSource db) throws SQLException {
        try (var c = db.getConnection(); var s = c.createStatement()) {
            s.execute("delete from outbox");
        }
    }
}
