package io.consentbridge.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.consentbridge.consent.CallbackOutcome;
import io.consentbridge.consent.ConsentLink;
import io.consentbridge.consent.ConsentLinks;
import io.consentbridge.inbound.OnboardingRequest;
import io.consentbridge.support.MovableClock;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Consent callbacks that share a group commit are decided together ({@code ConsentLedger.StateUse}):
 * for any mix of tenants (waiting for consent, past their link's time, already consented, denied
 * before) and any callbacks in any order (the same state twice, unknown and malformed states,
 * consents and denials), deciding them together gives every callback the answer, and leaves the
 * ledger, the events and the grant work, exactly as deciding them one after another does.
 */
class CallbackGroupProperties {
    enum Kind { PENDING, EXPIRED, CONSENTED, DENIED }

    record Tenant(Kind kind, int mailboxes) {
    }

    /** A callback for the tenant at {@code target} (-1: a well-formed state nobody issued, -2: a malformed one). */
    record Callback(int target, boolean consented) {
    }

    record Scenario(List<Tenant> tenants, List<Callback> callbacks) {
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        // Mostly tenants waiting for consent: a group's own decisions are what is tried.
        Arbitrary<Kind> kind = Arbitraries.of(Kind.PENDING, Kind.PENDING, Kind.PENDING, Kind.EXPIRED, Kind.CONSENTED, Kind.DENIED);
        Arbitrary<Tenant> tenant = Combinators.combine(kind, Arbitraries.integers().between(0, 3)).as(Tenant::new);
        return tenant.list().ofMinSize(1).ofMaxSize(6).withSizeDistribution(RandomDistribution.uniform()).flatMap(tenants -> {
            Arbitrary<Integer> target = Arbitraries.frequencyOf(
                    Tuple.of(8, Arbitraries.integers().between(0, tenants.size() - 1)),
                    Tuple.of(1, Arbitraries.just(-1)),
                    Tuple.of(1, Arbitraries.just(-2)));
            Arbitrary<Boolean> consents = Arbitraries.of(true, true, true, false);
            // A callback for every tenant, and as many again for any (the same state twice, strangers), in any order.
            Arbitrary<List<Callback>> each = consents.list().ofSize(tenants.size()).map(answers -> {
                List<Callback> callbacks = new ArrayList<>();
                for (int i = 0; i < answers.size(); i++) {
                    callbacks.add(new Callback(i, answers.get(i)));
                }
                return callbacks;
            });
            Arbitrary<List<Callback>> more = Combinators.combine(target, consents).as(Callback::new).list().ofMaxSize(10);
            return Combinators.combine(each, more, Arbitraries.randoms()).as((first, extra, random) -> {
                List<Callback> callbacks = new ArrayList<>(first);
                callbacks.addAll(extra);
                java.util.Collections.shuffle(callbacks, random);
                return new Scenario(tenants, callbacks);
            });
        });
    }

    @Property(tries = 60)
    void togetherIsTheSameAsOneAfterAnother(@ForAll("scenarios") Scenario scenario) throws SQLException {
        try (SideBySide both = new SideBySide()) {
            ObjectMapper mapper = both.mapper;
            MovableClock clock = both.clock;
            ConsentLinks links = both.links;
            HikariDataSource oneByOneDb = both.oneByOneDb;
            HikariDataSource togetherDb = both.togetherDb;
            ConsentLedger oneByOne = both.oneByOne;
            ConsentLedger together = both.together;
            List<String> states = new ArrayList<>();
            // Links that will be past their time are issued first, the clock moved on, then the others.
            for (Kind pass : new Kind[]{Kind.EXPIRED, null}) {
                for (int i = 0; i < scenario.tenants().size(); i++) {
                    Tenant tenant = scenario.tenants().get(i);
                    if ((pass == Kind.EXPIRED) != (tenant.kind() == Kind.EXPIRED)) {
                        continue;
                    }
                    List<String> mailboxes = new ArrayList<>();
                    for (int m = 0; m < tenant.mailboxes(); m++) {
                        mailboxes.add("user" + m + "@tenant" + i + ".example");
                    }
                    OnboardingRequest request = new OnboardingRequest("req-" + i, "tenant-" + i, null, null, null, null, null, mailboxes, List.of());
                    ConsentLink link = links.issue("cred-" + i, null);
                    for (ConsentLedger ledger : List.of(oneByOne, together)) {
                        assertThat(ledger.admitOnboarding(request)).isEqualTo(ConsentLedger.Admission.NEW);
                        ledger.storeLink(request, link);
                        ledger.markLinkPublished(request);
                        if (tenant.kind() == Kind.CONSENTED || tenant.kind() == Kind.DENIED) {
                            ledger.useState(link.state(), tenant.kind() == Kind.CONSENTED, tenant.kind() == Kind.DENIED ? "access_denied" : null, null);
                        }
                    }
                    while (states.size() <= i) {
                        states.add(null);
                    }
                    states.set(i, link.state());
                }
                if (pass == Kind.EXPIRED) {
                    clock.now = clock.now.plus(Duration.ofDays(8));
                }
            }
            String unknown = links.issue("cred-nobody", null).state();
            List<ConsentLedger.Callback> callbacks = new ArrayList<>();
            for (Callback callback : scenario.callbacks()) {
                String state = switch (callback.target()) {
                    case -1 -> unknown;
                    case -2 -> "not a state";
                    default -> states.get(callback.target());
                };
                callbacks.add(callback.consented()
                        ? new ConsentLedger.Callback(state, true, null, null)
                        : new ConsentLedger.Callback(state, false, "access_denied", "The admin said no"));
            }
            forgetEventsAndWork(oneByOneDb);
            forgetEventsAndWork(togetherDb);

            List<CallbackOutcome> each = new ArrayList<>();
            for (ConsentLedger.Callback callback : callbacks) {
                each.add(oneByOne.useState(callback.state(), callback.consented(), callback.error(), callback.errorDescription()));
            }
            List<CallbackOutcome> all = together.useStatesTogether(callbacks);
            long granted = all.stream().filter(outcome -> outcome.result().equals("granted")).count();
            Statistics.label("tenants granted together").collect(granted >= 2 ? "two or more" : granted + "");
            Statistics.label("tenants granted together").coverage(checker -> checker.check("two or more").percentage(p -> p >= 15));

            assertThat(all).as("the callbacks' answers").isEqualTo(each);
            for (String query : List.of(
                    "select tenant_id, consent_status, consent_error, consent_error_description from tenant order by tenant_id",
                    "select tenant_id, email, grant_state, request_id from mailbox order by tenant_id, email",
                    "select tenant_id, email, action, request_id, credential_id, queue_position from grant_work order by tenant_id, email, action",
                    "select topic, record_key, partition_key from outbox order by id")) {
                assertThat(rows(togetherDb, query)).as(query).isEqualTo(rows(oneByOneDb, query));
            }
            assertThat(eventData(togetherDb, mapper)).as("the events' types and data, in order").isEqualTo(eventData(oneByOneDb, mapper));
        }
    }

    static HikariDataSource open() {
        return LedgerDatabase.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", null, null, 2);
    }

    static void forgetEventsAndWork(HikariDataSource db) throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("delete from outbox");
            s.execute("delete from grant_work");
        }
    }

    static List<List<String>> rows(HikariDataSource db, String query) throws SQLException {
        List<List<String>> rows = new ArrayList<>();
        try (Connection c = db.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            ResultSetMetaData meta = rs.getMetaData();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    row.add(rs.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    /** Each event's type and data (its id and time differ between two ledgers by design). */
    static List<String> eventData(HikariDataSource db, ObjectMapper mapper) throws SQLException {
        List<String> events = new ArrayList<>();
        for (List<String> row : rows(db, "select payload from outbox order by id")) {
            try {
                var event = mapper.readTree(row.get(0));
                events.add(event.path("type").asText() + " " + event.path("data"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return events;
    }
}
