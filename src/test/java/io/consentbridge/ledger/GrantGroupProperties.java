package io.consentbridge.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.consentbridge.consent.ConsentLink;
import io.consentbridge.grants.GrantWork;
import io.consentbridge.inbound.AdminCommand;
import io.consentbridge.inbound.MailboxRequest;
import io.consentbridge.inbound.OnboardingRequest;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static io.consentbridge.ledger.CallbackGroupProperties.eventData;
import static io.consentbridge.ledger.CallbackGroupProperties.rows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Grant outcomes that share a group commit are recorded together ({@code ConsentLedger.GrantRecord}):
 * for any tenants, any of their mailboxes asked for again by a later request meanwhile (waiters) or
 * removed while their call was on the way, and any outcomes in any order (the same work twice
 * included), recording them together leaves the ledger, the grant work and the events, in their
 * order, exactly as recording them one after another does.
 */
class GrantGroupProperties {
    /** A tenant's mailboxes; of those, which a later request asks for too and which are removed before the outcomes. */
    record Tenant(int mailboxes, List<Boolean> askedAgain, List<Boolean> removed) {
    }

    /** Outcomes name the claimed work by its place (modulo how much there is), in the order they are recorded. */
    record Scenario(List<Tenant> tenants, List<Integer> outcomes) {
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        Arbitrary<Tenant> tenant = Arbitraries.integers().between(1, 4).flatMap(n -> Combinators.combine(
                Arbitraries.just(n),
                Arbitraries.of(false, false, true).list().ofSize(n),
                Arbitraries.of(false, false, false, true).list().ofSize(n)).as(Tenant::new));
        return Combinators.combine(tenant.list().ofMinSize(1).ofMaxSize(3),
                Arbitraries.integers().between(0, 20).list().ofMinSize(1).ofMaxSize(14)).as(Scenario::new);
    }

    @Property(tries = 60)
    void togetherIsTheSameAsOneAfterAnother(@ForAll("scenarios") Scenario scenario) throws SQLException {
        try (SideBySide both = new SideBySide()) {
            ObjectMapper mapper = both.mapper;
            HikariDataSource oneByOneDb = both.oneByOneDb;
            HikariDataSource togetherDb = both.togetherDb;
            ConsentLedger oneByOne = both.oneByOne;
            ConsentLedger together = both.together;
            List<List<GrantWork>> claimed = new ArrayList<>();
            for (HikariDataSource db : List.of(oneByOneDb, togetherDb)) {
                ConsentLedger ledger = both.ledgerOn(db);
                TenantLifecycle lifecycle = new TenantLifecycle(db, both.clock, both.events, Duration.ofDays(14));
                for (int i = 0; i < scenario.tenants().size(); i++) {
                    Tenant tenant = scenario.tenants().get(i);
                    List<String> mailboxes = new ArrayList<>();
                    for (int m = 0; m < tenant.mailboxes(); m++) {
                        // Accents and a long top-level domain, as customers send them; tenants 0 and 2 name the same
                        // addresses (one outcome's tenant with another's mailbox must not meet its waiters).
                        mailboxes.add(address(i, m));
                    }
                    OnboardingRequest request = new OnboardingRequest("req-" + i, "tenant-" + i, null, null, null, null, null, mailboxes, List.of());
                    assertThat(ledger.admitOnboarding(request)).isEqualTo(ConsentLedger.Admission.NEW);
                    ConsentLink link = both.links.issue("cred-" + i, null);
                    ledger.storeLink(request, link);
                    ledger.markLinkPublished(request);
                    ledger.useState(link.state(), true, null, null);
                }
                new InstanceHeartbeat(db, both.clock, "test", Duration.ofDays(3650)).beat();
                List<GrantWork> work = new ArrayList<>(new GrantQueue(db, "test", 1000).claim());
                work.sort(Comparator.comparing(GrantWork::tenantId).thenComparing(GrantWork::email));
                claimed.add(work);
                for (int i = 0; i < scenario.tenants().size(); i++) {
                    Tenant tenant = scenario.tenants().get(i);
                    List<String> again = new ArrayList<>();
                    List<String> removed = new ArrayList<>();
                    for (int m = 0; m < tenant.mailboxes(); m++) {
                        if (tenant.askedAgain().get(m)) {
                            again.add(address(i, m));
                        }
                        if (tenant.removed().get(m)) {
                            removed.add(address(i, m));
                        }
                    }
                    if (!again.isEmpty()) {
                        ledger.admitMailboxes(new MailboxRequest("later-" + i, "tenant-" + i, again, List.of()));
                    }
                    if (!removed.isEmpty()) {
                        AdminCommand remove = new AdminCommand("remove-" + i, "tenant-" + i, "remove_mailboxes", removed, null, null, null);
                        lifecycle.admitCommand(remove);
                        lifecycle.removeMailboxes(remove);
                    }
                }
                // The events so far are the same on both; the work stays, for the outcomes to remove.
                try (var c = db.getConnection(); var s = c.createStatement()) {
                    s.execute("delete from outbox");
                }
            }
            assertThat(claimed.get(1)).extracting(GrantWork::email).isEqualTo(claimed.get(0).stream().map(GrantWork::email).toList());

            List<ConsentLedger.Granted> outcomes = new ArrayList<>();
            for (int k = 0; k < scenario.outcomes().size(); k++) {
                int at = scenario.outcomes().get(k) % claimed.get(0).size();
                JsonNode grant = mapper.createObjectNode().put("id", "g-" + k).put("grant_status", "valid");
                outcomes.add(new ConsentLedger.Granted(claimed.get(0).get(at), grant, "nylas-" + k));
            }
            Statistics.label("mailboxes removed meanwhile").collect(!rows(oneByOneDb, "select 1 from mailbox where grant_state = 'deleted'").isEmpty());
            Statistics.label("mailboxes asked for again").collect(!rows(oneByOneDb, "select 1 from mailbox_waiter").isEmpty());
            Statistics.label("outcomes for one work").collect(outcomes.stream().map(o -> o.work().email()).distinct().count() < outcomes.size()
                    ? "some twice" : "each once");
            for (ConsentLedger.Granted outcome : outcomes) {
                oneByOne.recordGrant(outcome.work(), outcome.grant(), outcome.nylasRequestId());
            }
            List<ConsentLedger.Granted> theOthers = new ArrayList<>();
            for (ConsentLedger.Granted outcome : outcomes) {
                GrantWork same = claimed.get(1).get(claimed.get(0).indexOf(outcome.work()));
                theOthers.add(new ConsentLedger.Granted(same, outcome.grant(), outcome.nylasRequestId()));
            }
            together.recordGrantsTogether(theOthers);

            for (String query : List.of(
                    "select tenant_id, email, grant_state, grant_id, nylas_grant_status, grant_scope, nylas_request_id, request_id from mailbox"
                            + " order by tenant_id, email",
                    "select tenant_id, email, request_id from mailbox_waiter order by tenant_id, email, request_id",
                    "select tenant_id, email, action, request_id, credential_id, grant_id from grant_work order by tenant_id, email, action, grant_id",
                    "select topic, record_key, partition_key from outbox order by id")) {
                assertThat(rows(togetherDb, query)).as(query).isEqualTo(rows(oneByOneDb, query));
            }
            assertThat(eventData(togetherDb, mapper)).as("the events' types and data, in order").isEqualTo(eventData(oneByOneDb, mapper));
        }
    }

    static String address(int tenant, int mailbox) {
        return "usér" + mailbox + "@tenant" + tenant % 2 + ".example.photography";
    }
}
