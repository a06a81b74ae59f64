package io.consentbridge.ledger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.consentbridge.consent.CallbackOutcome;
import io.consentbridge.consent.ConsentLink;
import io.consentbridge.consent.ConsentLinks;
import io.consentbridge.events.EventEnvelope;
import io.consentbridge.events.ResultEvents;
import io.consentbridge.grants.GrantWork;
import io.consentbridge.inbound.AdminCommand;
import io.consentbridge.inbound.OnboardingRequest;
import io.consentbridge.nylas.NylasError;
import io.consentbridge.support.MovableClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The ledger's state changes, each on its own: a real H2 database with the real migrations, a
 * clock the test moves, and the outbox read back as the events it will publish.
 */
class LedgerStateTest {
    final ObjectMapper mapper = JsonMapper.builder().findAndAddModules().build();
    final MovableClock clock = new MovableClock(Instant.parse("2027-01-10T09:00:00Z"));
    HikariDataSource db;
    ConsentLedger ledger;
    TenantLifecycle lifecycle;
    ConsentLinks links;
    GrantQueue queue;
    /** The grant work the last {@link #drain()} claimed. */
    List<GrantWork> lastWork = List.of();

    @BeforeEach
    void open() {
        db = LedgerDatabase.open("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", null, null, 2);
        ResultEvents events = new ResultEvents(new EventEnvelope(mapper, clock), "results");
        ledger = new ConsentLedger(db, clock, events, mapper);
        lifecycle = new TenantLifecycle(db, clock, events, Duration.ofDays(14));
        queue = new GrantQueue(db, "test", 1000);
        links = new ConsentLinks("https://api.us.nylas.com", "client", "https://bridge.example/cb", clock, Duration.ofDays(7));
    }

    @AfterEach
    void close() {
        db.close();
    }

    OnboardingRequest onboarding(String tenant, String request, String clientId, Instant secretExpiry, String... mailboxes) {
        return new OnboardingRequest(request, tenant, null, clientId, clientId == null ? null : "s3cr3t", secretExpiry, null, List.of(mailboxes), List.of());
    }

    /** Onboards and consents; returns the tenant's link. */
    ConsentLink onboardAndConsent(OnboardingRequest request) {
        assertThat(ledger.admitOnboarding(request)).isEqualTo(ConsentLedger.Admission.NEW);
        ConsentLink link = links.issue("cred-" + request.tenantId(), null);
        ledger.storeLink(request, link);
        ledger.markLinkPublished(request);
        assertThat(ledger.useState(link.state(), true, null, null).result()).isEqualTo(CallbackOutcome.granted(request.tenantId()).result());
        return link;
    }

    /**
     * Takes everything in the outbox, oldest first, as (topic, payload) pairs, and claims all the
     * grant work waiting in the ledger ({@link #work}).
     */
    List<String[]> drain() {
        new InstanceHeartbeat(db, clock, "test", Duration.ofDays(3650)).beat();
        lastWork = queue.claim();
        Outbox outbox = new Outbox(db, clock, "test");
        List<String[]> out = new ArrayList<>();
        List<OutboxRecord> round;
        while (!(round = outbox.claim(1000)).isEmpty()) {
            long[] ids = new long[round.size()];
            for (int i = 0; i < round.size(); i++) {
                out.add(new String[]{round.get(i).topic(), round.get(i).payload()});
                ids[i] = round.get(i).id();
            }
            outbox.deleteSent(ids);
        }
        return out;
    }

    List<JsonNode> events(List<String[]> records, String type) {
        List<JsonNode> found = new ArrayList<>();
        for (String[] r : records) {
            if (r[0].equals("results")) {
                JsonNode e = json(r[1]);
                if (type.equals(e.path("type").asText())) {
                    found.add(e);
                }
            }
        }
        return found;
    }

    /** The grant work claimed with these records (by the same {@link #drain()}). */
    List<GrantWork> work(List<String[]> records) {
        return lastWork;
    }

    JsonNode json(String text) {
        try {
            return mapper.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    JsonNode grant(String id) {
        return mapper.createObjectNode().put("id", id).put("grant_status", "valid");
    }

    @Test
    void anOnboardingIsAdmittedOnceAndAnOnboardedTenantRefusesASecond() {
        OnboardingRequest first = onboarding("contoso", "r1", null, null, "a@contoso.com");
        assertThat(ledger.admitOnboarding(first)).isEqualTo(ConsentLedger.Admission.NEW);
        // Redelivered before its link went out: resumed.
        assertThat(ledger.admitOnboarding(first)).isEqualTo(ConsentLedger.Admission.RESUME);
        ConsentLink link = links.issue("cred-1", null);
        ledger.storeLink(first, link);
        ledger.markLinkPublished(first);
        assertThat(ledger.admitOnboarding(first)).isEqualTo(ConsentLedger.Admission.DUPLICATE);
        assertThatThrownBy(() -> ledger.admitOnboarding(onboarding("contoso", "r2", null, null)))
                .isInstanceOf(RequestRefusedException.class).hasMessageContaining("tenant already onboarded");
    }

    @Test
    void aStateIsUsedOnceAndNotAfterItsTime() {
        OnboardingRequest request = onboarding("fabrikam", "r1", null, null, "a@fabrikam.com", "b@fabrikam.com");
        ledger.admitOnboarding(request);
        ConsentLink link = links.issue("cred-1", null);
        ledger.storeLink(request, link);
        clock.now = clock.now.plus(Duration.ofDays(8));
        assertThat(ledger.useState(link.state(), true, null, null).result()).isEqualTo(CallbackOutcome.invalid().result());
        assertThat(ledger.expireLinks(10)).isEqualTo(1);
        assertThat(ledger.expireLinks(10)).isZero();
        assertThat(events(drain(), "consent.expired")).hasSize(1);

        OnboardingRequest again = onboarding("fabrikam", "r2", null, null, "a@fabrikam.com");
        assertThat(ledger.admitOnboarding(again)).isEqualTo(ConsentLedger.Admission.NEW);
        ConsentLink second = links.issue("cred-2", null);
        ledger.storeLink(again, second);
        assertThat(ledger.useState(second.state(), true, null, null).tenantId()).isEqualTo("fabrikam");
        assertThat(ledger.useState(second.state(), true, null, null).result()).isEqualTo(CallbackOutcome.invalid().result());
        List<String[]> out = drain();
        assertThat(events(out, "consent.granted")).singleElement()
                .satisfies(e -> assertThat(e.path("data").path("mailbox_count").asInt()).isEqualTo(2));
        assertThat(work(out)).extracting(GrantWork::email).containsExactlyInAnyOrder("a@fabrikam.com", "b@fabrikam.com");
    }

    @Test
    void aGrantIsRecordedOnceAndAFailureNeverOverwritesIt() {
        onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com"));
        GrantWork work = work(drain()).get(0);
        assertThat(queue.waiting()).isEqualTo(1);
        ledger.recordGrant(work, grant("g-1"), "nylas-req");
        assertThat(queue.waiting()).as("the outcome's transaction removes the work").isZero();
        ledger.recordGrant(work, grant("g-1"), "nylas-req");
        ledger.recordGrantFailure(work, new NylasError("api.internal_error", "late", 500, null));
        assertThat(events(drain(), "grant.created")).hasSize(1);
        assertThat(ledger.status("contoso").orElseThrow().get("mailboxes")).isEqualTo(
                Map.of("granted", 1L, "failed", 0L, "pending", 0L, "expired", 0L, "deleted", 0L));
        assertThatThrownBy(() -> ledger.recordGrant(work, grant("g/../x"), null)).isInstanceOf(LedgerDataException.class);
    }

    @Test
    void offboardingDeletesEveryGrantOnceAndEndsOnce() {
        onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com", "b@contoso.com", "c@contoso.com"));
        List<GrantWork> grants = work(drain());
        for (int i = 0; i < 2; i++) {
            ledger.recordGrant(grants.get(i), grant("g-" + i), null);
        }
        AdminCommand offboard = new AdminCommand("cmd-1", "contoso", "offboard", List.of(), null, null, null);
        assertThat(lifecycle.admitCommand(offboard).admission()).isEqualTo(ConsentLedger.Admission.NEW);
        assertThat(lifecycle.offboard(offboard)).isEqualTo(2);
        assertThat(lifecycle.admitCommand(offboard).duplicate()).isTrue();
        // The third mailbox's grant arrives after the offboarding began: it is deleted too.
        ledger.recordGrant(grants.get(2), grant("g-2"), null);
        List<GrantWork> deletes = work(drain());
        assertThat(deletes).allMatch(GrantWork::isDelete).extracting(GrantWork::grantId).containsExactlyInAnyOrder("g-0", "g-1", "g-2");
        assertThat(lifecycle.finishedOffboardings(10)).isEmpty();

        Map<String, GrantWork> byGrant = new java.util.HashMap<>();
        deletes.forEach(d -> byGrant.put(d.grantId(), d));
        lifecycle.recordDeleted(byGrant.get("g-0"));
        lifecycle.recordDeleted(byGrant.get("g-0"));
        lifecycle.recordDeleted(byGrant.get("g-2"));
        lifecycle.recordDeleteFailure(byGrant.get("g-1"), new NylasError("api.internal_error", "no", 500, null));
        assertThat(queue.waiting()).isZero();
        TenantLifecycle.FinishedOffboarding finished = lifecycle.finishedOffboardings(10).get(0);
        assertThat(finished.deleted()).isEqualTo(2);
        assertThat(finished.failed()).isEqualTo(1);
        assertThat(finished.deletesCredential()).isFalse();
        lifecycle.finishOffboarding(finished);
        lifecycle.finishOffboarding(finished);
        List<String[]> out = drain();
        assertThat(events(out, "grant.deleted")).hasSize(2).allMatch(e -> e.path("data").path("by").asText().equals("bridge"));
        assertThat(events(out, "tenant.offboarded")).singleElement()
                .satisfies(e -> assertThat(e.path("data").path("grants_failed").asInt()).isEqualTo(1));
        assertThat(ledger.status("contoso").orElseThrow().get("consent_status")).isEqualTo("offboarding");

        // Sent again, the command finishes the job.
        AdminCommand again = new AdminCommand("cmd-2", "contoso", "offboard", List.of(), null, null, null);
        lifecycle.admitCommand(again);
        assertThat(lifecycle.offboard(again)).isEqualTo(1);
        GrantWork last = work(drain()).get(0);
        lifecycle.recordDeleted(last);
        TenantLifecycle.FinishedOffboarding done = lifecycle.finishedOffboardings(10).get(0);
        assertThat(done.deleted()).isEqualTo(1);
        assertThat(done.deletesCredential()).isTrue();
        lifecycle.finishOffboarding(done);
        assertThat(ledger.status("contoso").orElseThrow().get("consent_status")).isEqualTo("offboarded");
        assertThat(ledger.status("contoso").orElseThrow().get("mailboxes")).isEqualTo(
                Map.of("granted", 0L, "failed", 0L, "pending", 0L, "expired", 0L, "deleted", 3L));

        // A later onboarding starts the tenant afresh, with its mailboxes.
        assertThat(ledger.admitOnboarding(onboarding("contoso", "r3", null, null, "a@contoso.com"))).isEqualTo(ConsentLedger.Admission.NEW);
        assertThat(ledger.status("contoso").orElseThrow().get("mailboxes")).isEqualTo(
                Map.of("granted", 0L, "failed", 0L, "pending", 1L, "expired", 0L, "deleted", 2L));
    }

    @Test
    void commandsTheTenantsStateDoesNotAllowAreRefusedWithTheirReason() {
        AdminCommand unknown = new AdminCommand("cmd-1", "nobody", "offboard", List.of(), null, null, null);
        assertThatThrownBy(() -> lifecycle.admitCommand(unknown)).hasMessageContaining("unknown tenant");
        onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com"));
        AdminCommand rotate = new AdminCommand("cmd-2", "contoso", "rotate_secret", List.of(), "app", "new-secret", null);
        assertThatThrownBy(() -> lifecycle.admitCommand(rotate)).hasMessageContaining("no Azure app of its own");
        AdminCommand sameId = new AdminCommand("r1", "contoso", "reconsent", List.of(), null, null, null);
        assertThatThrownBy(() -> lifecycle.admitCommand(sameId)).hasMessageContaining("request_id already used");
    }

    @Test
    void reconsentReplacesTheLinkAndConsentRestoresExpiredAndFailedMailboxes() {
        ConsentLink first = onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com", "b@contoso.com", "c@contoso.com"));
        List<GrantWork> grants = work(drain());
        ledger.recordGrant(grants.get(0), grant("g-0"), null);
        ledger.recordGrantFailure(grants.get(1), new NylasError("invalid_request_error", "AADSTS65001: consent", 400, null));
        ledger.recordGrant(grants.get(2), grant("g-2"), null);
        new Jdbc(db).inTransaction(c -> Jdbc.update(c, "update mailbox set grant_state = 'expired' where email = ?", grants.get(2).email()));
        drain();

        AdminCommand reconsent = new AdminCommand("cmd-1", "contoso", "reconsent", List.of(), null, null, null);
        TenantLifecycle.Target target = lifecycle.admitCommand(reconsent);
        ConsentLink link = links.issue(target.credentialId(), null);
        lifecycle.storeReconsentLink(reconsent, link);
        lifecycle.reconsentPublished(reconsent);
        assertThat(ledger.useState(first.state(), true, null, null).result()).isEqualTo(CallbackOutcome.invalid().result());
        assertThat(ledger.useState(link.state(), true, null, null).tenantId()).isEqualTo("contoso");
        List<String[]> out = drain();
        assertThat(events(out, "consent.granted")).singleElement().satisfies(e -> {
            assertThat(e.path("data").path("request_id").asText()).isEqualTo("cmd-1");
            assertThat(e.path("data").path("mailbox_count").asInt()).isEqualTo(2);
        });
        List<GrantWork> again = work(out);
        assertThat(again).extracting(GrantWork::email).containsExactlyInAnyOrder(grants.get(1).email(), grants.get(2).email());
        GrantWork restore = again.stream().filter(GrantWork::isRestore).findFirst().orElseThrow();
        ledger.recordGrant(restore, grant("g-2"), null);
        assertThat(events(drain(), "grant.restored")).singleElement()
                .satisfies(e -> assertThat(e.path("data").path("grant_id").asText()).isEqualTo("g-2"));
    }

    @Test
    void reconsentAfterALinkExpiredGivesAWorkingLinkAndGrantsTheWaitingMailboxes() {
        OnboardingRequest request = onboarding("contoso", "r1", null, null, "a@contoso.com");
        ledger.admitOnboarding(request);
        ConsentLink first = links.issue("cred-1", null);
        ledger.storeLink(request, first);
        ledger.markLinkPublished(request);
        clock.now = clock.now.plus(Duration.ofDays(8));
        assertThat(ledger.expireLinks(10)).isEqualTo(1);
        AdminCommand reconsent = new AdminCommand("cmd-1", "contoso", "reconsent", List.of(), null, null, null);
        assertThat(lifecycle.admitCommand(reconsent).credentialId()).isEqualTo("cred-1");
        ConsentLink link = links.issue("cred-1", null);
        lifecycle.storeReconsentLink(reconsent, link);
        lifecycle.reconsentPublished(reconsent);
        assertThat(ledger.useState(first.state(), true, null, null).result()).isEqualTo(CallbackOutcome.invalid().result());
        assertThat(ledger.useState(link.state(), true, null, null).tenantId()).isEqualTo("contoso");
        assertThat(work(drain())).extracting(GrantWork::email).containsExactly("a@contoso.com");
        assertThat(lifecycle.admitCommand(reconsent).duplicate()).isTrue();
    }

    @Test
    void rotationKeepsTheNewExpiryAndGrantsAgainWhatFailedForAnAuthReason() {
        onboardAndConsent(onboarding("contoso", "r1", "app-1", null, "a@contoso.com", "b@contoso.com"));
        List<GrantWork> grants = work(drain());
        ledger.recordGrantFailure(grants.get(0), new NylasError("invalid_request_error", "AADSTS7000222: the client secret expired", 400, null));
        ledger.recordGrantFailure(grants.get(1), new NylasError("invalid_request_error", "mailbox not licensed", 400, null));
        drain();
        Instant expiry = clock.now.plus(Duration.ofDays(300));
        AdminCommand rotate = new AdminCommand("cmd-1", "contoso", "rotate_secret", List.of(), "app-2", "new-secret", expiry);
        assertThat(lifecycle.admitCommand(rotate).credentialId()).isEqualTo("cred-contoso");
        lifecycle.recordRotation(rotate);
        List<String[]> out = drain();
        assertThat(events(out, "credential.rotated")).singleElement()
                .satisfies(e -> assertThat(e.path("data").path("client_secret_expires_at").asText()).isEqualTo(expiry.toString()));
        assertThat(work(out)).extracting(GrantWork::email).containsExactly(grants.get(0).email());
        assertThat(out).noneMatch(r -> r[1].contains("new-secret"));
        assertThat(lifecycle.admitCommand(rotate).duplicate()).isTrue();
    }

    @Test
    void aSecretNearItsExpiryIsWarnedOfOncePerExpiry() {
        Instant expiry = clock.now.plus(Duration.ofDays(20));
        OnboardingRequest request = onboarding("contoso", "r1", "app-1", expiry, "a@contoso.com");
        onboardAndConsent(request);
        assertThat(lifecycle.warnIfExpiring("contoso", "r1")).isZero();
        assertThat(lifecycle.warnExpiringSecrets()).isZero();
        clock.now = clock.now.plus(Duration.ofDays(7));
        assertThat(lifecycle.warnExpiringSecrets()).isEqualTo(1);
        assertThat(lifecycle.warnExpiringSecrets()).isZero();
        clock.now = clock.now.plus(Duration.ofHours(1));
        assertThat(lifecycle.warnExpiringSecrets()).isZero();
        assertThat(events(drain(), "credential.secret_expiring")).singleElement().satisfies(e -> {
            assertThat(e.path("data").path("request_id").isNull()).isTrue();
            assertThat(e.path("data").path("client_secret_expires_at").asText()).isEqualTo(expiry.toString());
        });

        // A rotation with a new expiry inside the window warns at once, under the command's id.
        AdminCommand rotate = new AdminCommand("cmd-1", "contoso", "rotate_secret", List.of(), "app-1", "s2", clock.now.plus(Duration.ofDays(3)));
        lifecycle.admitCommand(rotate);
        lifecycle.recordRotation(rotate);
        assertThat(events(drain(), "credential.secret_expiring")).singleElement()
                .satisfies(e -> assertThat(e.path("data").path("request_id").asText()).isEqualTo("cmd-1"));
    }

    @Test
    void oneSweepPerIntervalWhicheverInstanceAsks() {
        GrantHealth a = new GrantHealth(db, clock, new ResultEvents(new EventEnvelope(mapper, clock), "results"),
                "instance-a", Duration.ofHours(24));
        GrantHealth b = new GrantHealth(db, clock, new ResultEvents(new EventEnvelope(mapper, clock), "results"),
                "instance-b", Duration.ofHours(24));
        // The first start schedules the first sweep one interval on.
        assertThat(a.sweepDue()).isFalse();
        assertThat(b.sweepDue()).isFalse();
        clock.now = clock.now.plus(Duration.ofHours(24));
        assertThat(a.sweepDue()).isTrue();
        assertThat(b.sweepDue()).isFalse();
        assertThat(a.sweepDue()).isFalse();
        clock.now = clock.now.plus(Duration.ofHours(23));
        assertThat(b.sweepDue()).isFalse();
        clock.now = clock.now.plus(Duration.ofHours(1));
        assertThat(b.sweepDue()).isTrue();
        assertThat(a.sweepDue()).isFalse();
        GrantHealth off = new GrantHealth(db, clock, new ResultEvents(new EventEnvelope(mapper, clock), "results"),
                "instance-c", Duration.ZERO);
        clock.now = clock.now.plus(Duration.ofDays(2));
        assertThat(off.sweepDue()).isFalse();
    }

    @Test
    void removedMailboxesCanBeAskedForAgain() {
        onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com", "b@contoso.com"));
        List<GrantWork> grants = work(drain());
        ledger.recordGrant(grants.get(0), grant("g-0"), null);
        drain();
        AdminCommand remove = new AdminCommand("cmd-1", "contoso", "remove_mailboxes", List.of(grants.get(0).email(), grants.get(1).email(), "x@contoso.com"), null, null, null);
        lifecycle.admitCommand(remove);
        assertThat(lifecycle.removeMailboxes(remove)).isEqualTo(1);
        GrantWork delete = work(drain()).get(0);
        // The other mailbox's grant was still on its way: its late grant is deleted as well.
        ledger.recordGrant(grants.get(1), grant("g-1"), null);
        GrantWork late = work(drain()).get(0);
        assertThat(late.isDelete()).isTrue();
        lifecycle.recordDeleted(delete);
        lifecycle.recordDeleted(late);
        assertThat(events(drain(), "grant.deleted")).hasSize(2);
        assertThat(ledger.status("contoso").orElseThrow().get("mailboxes")).isEqualTo(
                Map.of("granted", 0L, "failed", 0L, "pending", 0L, "expired", 0L, "deleted", 2L));
        ledger.admitMailboxes(new io.consentbridge.inbound.MailboxRequest("r2", "contoso", List.of(grants.get(0).email()), List.of()));
        assertThat(work(drain())).singleElement().satisfies(w -> assertThat(w.isDelete()).isFalse());
    }

    @Test
    void grantWorkIsClaimedByOneInstanceAndADeadInstancesWorkGoesToTheOthers() {
        onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com", "b@contoso.com", "c@contoso.com"));
        InstanceHeartbeat a = new InstanceHeartbeat(db, clock, "a", Duration.ofSeconds(3));
        InstanceHeartbeat b = new InstanceHeartbeat(db, clock, "b", Duration.ofSeconds(3));
        GrantQueue ofA = new GrantQueue(db, "a", 2);
        GrantQueue ofB = new GrantQueue(db, "b", 2);
        assertThat(ofA.claim()).as("an instance the others do not know yet claims nothing").isEmpty();
        a.beat();
        b.beat();
        List<GrantWork> first = ofA.claim();
        List<GrantWork> second = ofB.claim();
        assertThat(first).hasSize(2);
        assertThat(ofA.claim()).as("no room left").isEmpty();
        assertThat(second).singleElement().satisfies(w -> assertThat(first).extracting(GrantWork::id).doesNotContain(w.id()));

        // a dies; b's own work ended without an outcome (the ledger was away), so b holds nothing now.
        clock.now = clock.now.plusSeconds(5);
        b.beat();
        ofB.finished(second.get(0));
        List<GrantWork> takenOver = ofB.claim();
        assertThat(takenOver).extracting(GrantWork::id).containsExactlyInAnyOrderElementsOf(first.stream().map(GrantWork::id).toList());
        ledger.recordGrant(takenOver.get(0), grant("g-0"), null);
        ofB.finished(takenOver.get(0));
        assertThat(ofB.claim()).as("its own unfinished work, claimed again").extracting(GrantWork::id).containsExactly(second.get(0).id());
        assertThat(ofB.waiting()).isEqualTo(2);
    }

    /**
     * A stopping bridge beats until its routes have finished; with the ledger away, one failed beat is
     * enough: the next ones return at once instead of each waiting for a connection, so they do not hold
     * the stop. A bridge that is not stopping keeps trying (and failing) every beat.
     */
    @Test
    void aStoppingInstanceBeatsNoMoreAfterAFailedBeat() {
        HikariDataSource away = LedgerDatabase.openExtra("away", db.getJdbcUrl(), null, null, 1);
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        InstanceHeartbeat heartbeat = new InstanceHeartbeat(away, clock, "a", Duration.ofSeconds(3)).whileStopping(stopping::get);
        heartbeat.beat();
        away.close();
        assertThatThrownBy(heartbeat::beat).as("the ledger away, running").isInstanceOf(RuntimeException.class);
        assertThatThrownBy(heartbeat::beat).as("again, still running").isInstanceOf(RuntimeException.class);
        stopping.set(true);
        heartbeat.beat();
        heartbeat.beat();
    }

    /**
     * On a ledger of its own (an H2 file) the first beat takes off the instance of an earlier run, whose
     * claimed work this one then takes; later beats write nothing, and the work stays this instance's
     * however long it runs.
     */
    @Test
    void aSoleInstanceJoinsOnceAndTakesOverTheWorkOfAnEarlierRun() throws Exception {
        onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com", "b@contoso.com"));
        new InstanceHeartbeat(db, clock, "earlier-run", Duration.ofSeconds(3), true).beat();
        List<GrantWork> claimedBeforeTheCrash = new GrantQueue(db, "earlier-run", 4).claim();
        assertThat(claimedBeforeTheCrash).hasSize(2);

        clock.now = clock.now.plusSeconds(10);
        InstanceHeartbeat now = new InstanceHeartbeat(db, clock, "now", Duration.ofSeconds(3), true);
        GrantQueue mine = new GrantQueue(db, "now", 4);
        now.beat();
        assertThat(members()).containsExactly("now");
        Object joinedAt = seenAt("now");

        clock.now = clock.now.plusSeconds(3600);
        now.beat();
        assertThat(seenAt("now")).as("no write after joining").isEqualTo(joinedAt);
        assertThat(mine.claim()).extracting(GrantWork::id)
                .containsExactlyInAnyOrderElementsOf(claimedBeforeTheCrash.stream().map(GrantWork::id).toList());
        now.beat();
        assertThat(members()).as("an hour later still a member").containsExactly("now");

        now.leave();
        assertThat(members()).isEmpty();
        now.beat();
        assertThat(members()).as("joins again after leaving").containsExactly("now");
    }

    private List<String> members() throws SQLException {
        List<String> members = new ArrayList<>();
        try (Connection c = db.getConnection(); ResultSet rs = c.createStatement().executeQuery("select instance_id from rate_member")) {
            while (rs.next()) {
                members.add(rs.getString(1));
            }
        }
        return members;
    }

    private Object seenAt(String instanceId) throws SQLException {
        try (Connection c = db.getConnection();
             PreparedStatement s = c.prepareStatement("select seen_at from rate_member where instance_id = ?")) {
            s.setString(1, instanceId);
            try (ResultSet rs = s.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return rs.getObject(1);
            }
        }
    }

    /**
     * The health check pings the ledger every second. On H2 a change of a setting (such as a query
     * timeout) makes every connection parse its statements again: after the first ping, none.
     */
    @Test
    void pingsChangeNothingOfTheDatabaseAfterTheFirst() throws Exception {
        try (HikariDataSource health = LedgerDatabase.openExtra("health", db.getJdbcUrl(), null, null, 1)) {
            ConsentLedger pinged = new ConsentLedger(health, clock, new ResultEvents(new EventEnvelope(mapper, clock), "results"), mapper);
            pinged.ping();
            long before = metaModifications();
            for (int i = 0; i < 5; i++) {
                pinged.ping();
            }
            assertThat(metaModifications()).isEqualTo(before);
        }
    }

    private long metaModifications() throws SQLException {
        try (Connection c = db.getConnection()) {
            org.h2.engine.Session session = c.unwrap(org.h2.jdbc.JdbcConnection.class).getSession();
            return ((org.h2.engine.SessionLocal) session).getDatabase().getModificationMetaId();
        }
    }

    /** The claims may look less often only while there is truly nothing to do (the grant-claims route skips rounds then). */
    @Test
    void theClaimsSayWhenThereIsNothingToDo() {
        new InstanceHeartbeat(db, clock, "a", Duration.ofDays(1)).beat();
        GrantQueue ofA = new GrantQueue(db, "a", 4);
        assertThat(ofA.claim()).isEmpty();
        assertThat(ofA.isBusy()).as("nothing queued, nothing in hand").isFalse();

        onboardAndConsent(onboarding("contoso", "r1", null, null, "a@contoso.com", "b@contoso.com"));
        List<GrantWork> mine = ofA.claim();
        assertThat(mine).hasSize(2);
        assertThat(ofA.isBusy()).isTrue();
        assertThat(ofA.claim()).isEmpty();
        assertThat(ofA.isBusy()).as("nothing new to claim, but its work is still in hand").isTrue();

        ledger.recordGrant(mine.get(0), grant("g-1"), null);
        ofA.finished(mine.get(0));
        ofA.finished(mine.get(1));
        assertThat(ofA.claim()).as("the unfinished one, claimed again").hasSize(1);
        assertThat(ofA.isBusy()).isTrue();
        ledger.recordGrant(mine.get(1), grant("g-2"), null);
        ofA.finished(mine.get(1));
        assertThat(ofA.claim()).isEmpty();
        assertThat(ofA.isBusy()).as("all done").isFalse();

        // Work with nothing left to do (its mailbox removed since) is found and removed: a round not idle.
        onboardAndConsent(onboarding("gone", "r2", null, null, "a@gone.com"));
        AdminCommand remove = new AdminCommand("cmd-1", "gone", "remove_mailboxes", List.of("a@gone.com"), null, null, null);
        lifecycle.admitCommand(remove);
        lifecycle.removeMailboxes(remove);
        assertThat(ofA.claim()).isEmpty();
        assertThat(ofA.isBusy()).isTrue();
        assertThat(ofA.claim()).isEmpty();
        assertThat(ofA.isBusy()).isFalse();
    }

    @Test
    void aLaterSmallTenantIsNotQueuedBehindALargeOneAndWorkWithNothingLeftToDoGoes() {
        onboardAndConsent(onboarding("large", "r1", null, null, "a@large.com", "b@large.com", "c@large.com", "d@large.com"));
        onboardAndConsent(onboarding("small", "r2", null, null, "a@small.com"));
        onboardAndConsent(onboarding("gone", "r3", null, null, "a@gone.com"));
        AdminCommand remove = new AdminCommand("cmd-1", "gone", "remove_mailboxes", List.of("a@gone.com"), null, null, null);
        lifecycle.admitCommand(remove);
        assertThat(lifecycle.removeMailboxes(remove)).as("no grant yet: nothing to delete at Nylas").isZero();
        new InstanceHeartbeat(db, clock, "test", Duration.ofDays(1)).beat();
        new InstanceHeartbeat(db, clock, "other", Duration.ofDays(1)).beat();
        assertThat(new GrantQueue(db, "test", 2).claim()).extracting(GrantWork::email).containsExactly("a@large.com", "a@small.com");
        GrantQueue other = new GrantQueue(db, "other", 10);
        assertThat(other.claim()).extracting(GrantWork::email).containsExactly("b@large.com", "c@large.com", "d@large.com");
        assertThat(other.waiting()).as("the removed mailbox's work went without a call").isEqualTo(5);
    }
}
