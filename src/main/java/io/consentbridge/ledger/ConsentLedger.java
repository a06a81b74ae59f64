package io.consentbridge.ledger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.consent.CallbackOutcome;
import io.consentbridge.consent.ConsentLink;
import io.consentbridge.consent.ConsentLinks;
import io.consentbridge.events.OutboundRecord;
import io.consentbridge.events.ResultEvents;
import io.consentbridge.grants.GrantWork;
import io.consentbridge.inbound.InvalidMailbox;
import io.consentbridge.inbound.MailboxRequest;
import io.consentbridge.inbound.OnboardingRequest;
import io.consentbridge.nylas.NylasError;

import javax.sql.DataSource;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The onboarding ledger: tenants, their consent state, every mailbox and its grant outcome.
 * Each method is one transaction; the records it causes (events, grant work) go into the
 * {@link Outbox} (events) and the {@link GrantQueue} (grant work) in that same transaction, so state,
 * events and work never disagree. Conditional updates make every state change happen once, even
 * with several instances on one database. What the events say is {@link ResultEvents}'s business.
 */
public class ConsentLedger {
    public enum Admission { NEW, RESUME, DUPLICATE }

    /** Consent states in which a new onboarding request starts the tenant afresh. */
    private static final Set<String> ONBOARDABLE = Set.of("denied", "expired", "failed", "offboarded");

    private final Jdbc jdbc;
    private final Clock clock;
    private final ResultEvents events;
    private final ObjectMapper mapper;

    public ConsentLedger(DataSource dataSource, Clock clock, ResultEvents events, ObjectMapper mapper) {
        this(new Jdbc(dataSource), clock, events, mapper);
    }

    /**
     * A ledger whose transactions are committed in groups ({@link GroupCommit}): for the consent
     * callbacks, which come in bursts and each wait for their commit. Close it to stop its writer.
     */
    public static ConsentLedger groupCommitting(DataSource dataSource, int writers, int maxGroup, Clock clock,
                                                ResultEvents events, ObjectMapper mapper) {
        return new ConsentLedger(new GroupCommit(dataSource, "ledger-group-commit", writers, maxGroup), clock, events, mapper);
    }

    /**
     * A ledger for the grant workers' outcomes: each waits up to {@code linger} for others to share
     * its commit (on H2 every commit rewrites the pages it touched, and the outcomes of one
     * tenant's mailboxes touch the same few). Close it to stop its writers.
     */
    public static ConsentLedger lingering(DataSource dataSource, String name, int writers, int maxGroup, Duration linger, Clock clock,
                                          ResultEvents events, ObjectMapper mapper) {
        return new ConsentLedger(new GroupCommit(dataSource, name, writers, maxGroup, linger), clock, events, mapper);
    }

    /** Stops the group commit writer, if this ledger has one; the pool is closed by its owner. */
    public void close() {
        if (jdbc instanceof GroupCommit group) {
            group.close();
        }
    }

    private ConsentLedger(Jdbc jdbc, Clock clock, ResultEvents events, ObjectMapper mapper) {
        this.jdbc = jdbc;
        this.clock = clock;
        this.events = events;
        this.mapper = mapper;
    }

    // ---- onboarding ------------------------------------------------------------------------

    /**
     * Records an onboarding request, or recognises it as already seen. {@code RESUME} means an
     * earlier delivery stopped before its consent link went out, so the link is issued again.
     */
    public Admission admitOnboarding(OnboardingRequest request) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            if (exists(c, "select 1 from inbound_request where request_id = ?", request.requestId())) {
                boolean unfinished = exists(c, "select 1 from tenant where tenant_id = ? and request_id = ?"
                        + " and (consent_status = 'issuing' or (consent_status = 'pending' and link_published = false))",
                        request.tenantId(), request.requestId());
                return unfinished ? Admission.RESUME : Admission.DUPLICATE;
            }
            String status = null;
            String previousRequest = null;
            try (PreparedStatement s = Jdbc.prepare(c, "select consent_status, request_id from tenant where tenant_id = ? for update", request.tenantId());
                 ResultSet rs = s.executeQuery()) {
                if (rs.next()) {
                    status = rs.getString(1);
                    previousRequest = rs.getString(2);
                }
            }
            if (status != null && !ONBOARDABLE.contains(status)) {
                throw new RequestRefusedException("tenant already onboarded",
                        "tenant " + request.tenantId() + " is " + status + " from request " + previousRequest
                                + "; send further mailboxes to the mailbox topic, a reconsent command for a fresh link,"
                                + " or onboard again after a denial, expiry, failure or offboarding");
            }
            Jdbc.update(c, "insert into inbound_request (request_id, tenant_id, kind, received_at) values (?, ?, 'onboarding', ?)",
                    request.requestId(), request.tenantId(), now);
            if (status == null) {
                Jdbc.update(c, "insert into tenant (tenant_id, request_id, azure_tenant, client_id, client_secret_expires_at, consent_status,"
                        + " link_published, created_at, updated_at) values (?, ?, ?, ?, ?, 'issuing', false, ?, ?)",
                        request.tenantId(), request.requestId(), request.azureTenant(), request.clientId(), request.clientSecretExpiresAt(), now, now);
            } else {
                Jdbc.update(c, "update tenant set request_id = ?, azure_tenant = ?, client_id = ?, client_secret_expires_at = ?,"
                        + " secret_warned_for = null, offboard_request_id = null, consent_status = 'issuing', credential_id = null,"
                        + " state_hash = null, link_published = false, expires_at = null, consent_error = null,"
                        + " consent_error_description = null, updated_at = ? where tenant_id = ?",
                        request.requestId(), request.azureTenant(), request.clientId(), request.clientSecretExpiresAt(), now, request.tenantId());
            }
            addMailboxes(c, request.tenantId(), request.requestId(), null, request.mailboxes(), "waiting", now);
            // No credential yet: the invalid strings are answered now, whatever happens to the rest.
            announceInvalid(c, request.tenantId(), request.requestId(), null, request.invalidMailboxes());
            return Admission.NEW;
        });
    }

    /**
     * Stores the tenant's credential and its new link (the state's hash only: the raw state lives
     * in the link, which is published directly, never stored). The tenant is then pending consent.
     */
    public void storeLink(OnboardingRequest request, ConsentLink link) {
        int updated = jdbc.inTransaction(c -> Jdbc.update(c,
                "update tenant set credential_id = ?, state_hash = ?, expires_at = ?, consent_status = 'pending',"
                        + " link_published = false, updated_at = ? where tenant_id = ? and request_id = ?"
                        + " and consent_status in ('issuing', 'pending')",
                link.credentialId(), link.stateHash(), link.expiresAt(), Instant.now(clock), request.tenantId(), request.requestId()));
        if (updated != 1) {
            throw new IllegalStateException("tenant " + request.tenantId() + " changed while its link was issued");
        }
    }

    /**
     * The onboarding could not get its credential (Nylas refused it, or kept failing): the tenant is
     * marked failed with the reason, so a corrected request can onboard it again.
     */
    public void onboardingFailed(OnboardingRequest request, String reason) {
        jdbc.inTransaction(c -> Jdbc.update(c, "update tenant set consent_status = 'failed', consent_error = 'credential_failed',"
                        + " consent_error_description = ?, updated_at = ? where tenant_id = ? and request_id = ? and consent_status = 'issuing'",
                truncate(reason, 2048), Instant.now(clock), request.tenantId(), request.requestId()));
    }

    public void markLinkPublished(OnboardingRequest request) {
        jdbc.inTransaction(c -> Jdbc.update(c, "update tenant set link_published = true where tenant_id = ? and request_id = ?",
                request.tenantId(), request.requestId()));
    }

    // ---- consent callback ------------------------------------------------------------------

    /**
     * Uses a state once. A valid, unexpired, unused state moves its tenant to granted (queueing
     * a grant for every waiting mailbox) or denied; anything else is {@link CallbackOutcome#invalid}.
     * Callbacks that share a group commit are decided together ({@link StateUse}).
     */
    public CallbackOutcome useState(String state, boolean consented, String error, String errorDescription) {
        if (!ConsentLinks.isWellFormed(state)) {
            return CallbackOutcome.invalid();
        }
        return jdbc.inTransaction(new StateUse(ConsentLinks.hash(state), consented, error, errorDescription));
    }

    /** A callback's parameters, for {@link #useStatesTogether}. */
    record Callback(String state, boolean consented, String error, String errorDescription) {
    }

    /**
     * Callbacks decided together in one transaction, as they are when they share a group commit;
     * each answer as {@link #useState} would give it.
     */
    List<CallbackOutcome> useStatesTogether(List<Callback> callbacks) {
        List<Jdbc.Joint<CallbackOutcome>> uses = new ArrayList<>();
        for (Callback callback : callbacks) {
            if (ConsentLinks.isWellFormed(callback.state())) {
                uses.add(new StateUse(ConsentLinks.hash(callback.state()), callback.consented(), callback.error(), callback.errorDescription()));
            }
        }
        List<CallbackOutcome> decided = uses.isEmpty() ? List.of() : jdbc.inTransaction(c -> uses.get(0).runJointly(c, uses));
        List<CallbackOutcome> outcomes = new ArrayList<>(callbacks.size());
        int next = 0;
        for (Callback callback : callbacks) {
            outcomes.add(ConsentLinks.isWellFormed(callback.state()) ? decided.get(next++) : CallbackOutcome.invalid());
        }
        return outcomes;
    }

    /**
     * One callback's use of a state. The callbacks of a group are decided in a handful of statements
     * whatever their number: their tenants read and locked in one query, updated in one batch, their
     * waiting mailboxes read in one query, their events and grant work written in batches. On
     * PostgreSQL each statement is a round trip, and a burst of callbacks waited on them one after
     * another (CallbackBenchmark). Decided in the group's order: of two uses of one state, the first.
     */
    private final class StateUse implements Jdbc.Joint<CallbackOutcome> {
        private final String hash;
        private final boolean consented;
        private final String error;
        private final String errorDescription;

        StateUse(String hash, boolean consented, String error, String errorDescription) {
            this.hash = hash;
            this.consented = consented;
            this.error = error;
            this.errorDescription = errorDescription;
        }

        /** A tenant whose state a use names, as read (and locked) at the start. */
        private record Named(String tenantId, String requestId, String credentialId, String status, Instant expiresAt, String stateHash) {
        }

        @Override
        public List<CallbackOutcome> runJointly(Connection c, List<Jdbc.Joint<CallbackOutcome>> pieces) throws SQLException {
            Instant now = Instant.now(clock);
            List<StateUse> uses = new ArrayList<>(pieces.size());
            pieces.forEach(piece -> uses.add((StateUse) piece));
            Map<String, Named> tenants = new LinkedHashMap<>();
            uses.forEach(use -> tenants.put(use.hash, null));
            // Locked in one order (the tenants'), so two groups that name the same states never wait on each other in a circle.
            try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id, request_id, credential_id, consent_status, expires_at, state_hash"
                    + " from tenant where state_hash in (" + Jdbc.marks(tenants.size()) + ") order by tenant_id for update",
                    tenants.keySet().toArray());
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    tenants.put(rs.getString(6), new Named(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            Jdbc.instant(rs.getObject(5)), rs.getString(6)));
                }
            }
            CallbackOutcome[] outcomes = new CallbackOutcome[uses.size()];
            Named[] decided = new Named[uses.size()];
            List<Integer> deciding = new ArrayList<>();
            // A state used twice in one group is decided here, for the first use only: not left to the
            // update's own condition, whose batch count a driver may report as "success, no count".
            Set<String> used = new HashSet<>();
            for (int i = 0; i < uses.size(); i++) {
                StateUse use = uses.get(i);
                Named tenant = tenants.get(use.hash);
                if (tenant == null
                        || !MessageDigest.isEqual(use.hash.getBytes(StandardCharsets.US_ASCII), tenant.stateHash().getBytes(StandardCharsets.US_ASCII))
                        || !"pending".equals(tenant.status())
                        || !tenant.expiresAt().isAfter(now)
                        || !used.add(use.hash)) {
                    outcomes[i] = CallbackOutcome.invalid();
                } else {
                    decided[i] = tenant;
                    deciding.add(i);
                }
            }
            if (deciding.isEmpty()) {
                return List.of(outcomes);
            }
            int[] won;
            try (PreparedStatement update = c.prepareStatement("update tenant set consent_status = ?, consent_error = ?, consent_error_description = ?,"
                    + " updated_at = ?, probe_email = null, attention_cause = null where tenant_id = ? and state_hash = ? and consent_status = 'pending'")) {
                for (int i : deciding) {
                    StateUse use = uses.get(i);
                    Jdbc.bind(update, use.consented ? "granted" : "denied", truncate(use.error, 256), truncate(use.errorDescription, 2048), now,
                            decided[i].tenantId(), use.hash);
                    update.addBatch();
                }
                won = update.executeBatch();
            }
            List<String> granted = new ArrayList<>();
            for (int k = 0; k < deciding.size(); k++) {
                int i = deciding.get(k);
                if (won[k] == 0) {
                    outcomes[i] = CallbackOutcome.invalid();
                    decided[i] = null;
                } else if (uses.get(i).consented) {
                    granted.add(decided[i].tenantId());
                }
            }
            // Every mailbox not valid now: waiting for this consent, or (after a reconsent) expired or failed.
            Map<String, List<String[]>> mailboxes = MailboxRows.inTenants(c, granted, "waiting", "failed", "expired");
            try (PreparedStatement outbox = Outbox.batch(c);
                 MailboxRows.Queueing queueing = new MailboxRows.Queueing(c, now)) {
                for (int i = 0; i < uses.size(); i++) {
                    Named tenant = decided[i];
                    if (tenant == null) {
                        continue;
                    }
                    StateUse use = uses.get(i);
                    if (!use.consented) {
                        Outbox.bind(outbox, events.consentDenied(tenant.tenantId(), tenant.requestId(), tenant.credentialId(), use.error,
                                use.errorDescription), now);
                        outcomes[i] = CallbackOutcome.denied(tenant.tenantId());
                        continue;
                    }
                    List<String[]> waiting = new ArrayList<>();
                    List<String[]> expired = new ArrayList<>();
                    for (String[] row : mailboxes.get(tenant.tenantId())) {
                        ("expired".equals(row[3]) ? expired : waiting).add(row);
                    }
                    Outbox.bind(outbox, events.consentGranted(tenant.tenantId(), tenant.requestId(), tenant.credentialId(),
                            waiting.size() + expired.size()), now);
                    queueing.add(tenant.tenantId(), tenant.credentialId(), waiting, false);
                    queueing.add(tenant.tenantId(), tenant.credentialId(), expired, true);
                    outcomes[i] = CallbackOutcome.granted(tenant.tenantId());
                }
                outbox.executeBatch();
                queueing.execute();
            }
            return List.of(outcomes);
        }
    }

    // ---- mailboxes -------------------------------------------------------------------------

    /** Mailboxes for an onboarded tenant: granted at once if it consented, queued behind consent if not. */
    public Admission admitMailboxes(MailboxRequest request) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            if (exists(c, "select 1 from inbound_request where request_id = ?", request.requestId())) {
                return Admission.DUPLICATE;
            }
            String status = null;
            String credentialId = null;
            try (PreparedStatement s = Jdbc.prepare(c, "select consent_status, credential_id from tenant where tenant_id = ? for update", request.tenantId());
                 ResultSet rs = s.executeQuery()) {
                if (rs.next()) {
                    status = rs.getString(1);
                    credentialId = rs.getString(2);
                }
            }
            if (status == null) {
                throw new RequestRefusedException("unknown tenant",
                        "tenant " + request.tenantId() + " has no onboarding; send an onboarding request first");
            }
            if (status.equals("offboarding") || status.equals("offboarded")) {
                throw new RequestRefusedException("tenant offboarded",
                        "tenant " + request.tenantId() + " is " + status + "; onboard it again first");
            }
            Jdbc.update(c, "insert into inbound_request (request_id, tenant_id, kind, received_at) values (?, ?, 'mailboxes', ?)",
                    request.requestId(), request.tenantId(), now);
            addMailboxes(c, request.tenantId(), request.requestId(), credentialId, request.mailboxes(), "waiting", now);
            announceInvalid(c, request.tenantId(), request.requestId(), credentialId, request.invalidMailboxes());
            // A mailbox whose grant failed earlier is tried again when asked for again.
            try (PreparedStatement s = c.prepareStatement("update mailbox set grant_state = 'waiting', request_id = ?, updated_at = ?"
                    + " where tenant_id = ? and email = ? and grant_state = 'failed'")) {
                for (String email : request.mailboxes()) {
                    Jdbc.bind(s, request.requestId(), now, request.tenantId(), email);
                    s.addBatch();
                }
                s.executeBatch();
            }
            if ("granted".equals(status)) {
                MailboxRows.queue(c, request.tenantId(), credentialId, MailboxRows.in(c, request.tenantId(), "waiting"), false, now);
            }
            return Admission.NEW;
        });
    }

    /**
     * The grant Nylas made for a queued mailbox: {@code grant.created}, or {@code grant.restored}
     * for a mailbox whose grant had expired. A mailbox removed while its call was on the way gets
     * its new grant deleted, so no grant outlives its mailbox. An answer the ledger cannot keep is
     * refused before the transaction, so it fails only its own outcome, not the group it would share.
     */
    public void recordGrant(GrantWork work, JsonNode grant, String nylasRequestId) {
        jdbc.inTransaction(grantRecord(work, grant, nylasRequestId));
    }

    private GrantRecord grantRecord(GrantWork work, JsonNode grant, String nylasRequestId) {
        String grantId = grant.path("id").asText(null);
        String grantStatus = grant.path("grant_status").asText(null);
        if (grantId == null || grantId.isBlank()) {
            throw new LedgerDataException("Nylas answered without a grant id");
        }
        if (!NylasIds.isSafe(grantId)) {
            throw new LedgerDataException("Nylas answered with a grant id the ledger does not keep: not 1-128 of A-Z a-z 0-9 . _ ~ -");
        }
        List<String> scope = scopeOf(grant.get("scope"));
        Function<String, OutboundRecord> created = work.isRestore()
                ? requestId -> events.grantRestored(work.tenantId(), requestId, work.credentialId(), work.email(), grantId)
                : requestId -> events.grantCreated(work.tenantId(), requestId, work.credentialId(), work.email(), grantId, grantStatus, scope);
        // Built here, in the worker's thread: the group's transaction only writes it.
        OutboundRecord event = created.apply(work.requestId());
        return new GrantRecord(work, grantId, grantStatus, json(scope), truncate(nylasRequestId, 128), created, event);
    }

    /** The most scopes a grant's answer may name, each of at most {@link #MAX_SCOPE_LENGTH} characters: the event stays far under 256 KiB. */
    static final int MAX_SCOPES = 100;
    static final int MAX_SCOPE_LENGTH = 256;

    /**
     * Nylas's {@code scope} as the events carry it (a list of strings, contract's grant.created):
     * left out or null is the empty list; anything else than a list of at most {@link #MAX_SCOPES}
     * strings of at most {@link #MAX_SCOPE_LENGTH} characters is an answer the ledger cannot keep,
     * reported once ({@link LedgerDataException}) rather than called again.
     */
    static List<String> scopeOf(JsonNode scope) {
        if (scope == null || scope.isNull()) {
            return List.of();
        }
        if (!scope.isArray() || scope.size() > MAX_SCOPES) {
            throw new LedgerDataException("Nylas answered with a scope that is not a list of at most " + MAX_SCOPES + " strings");
        }
        List<String> scopes = new ArrayList<>(scope.size());
        for (JsonNode one : scope) {
            if (!one.isTextual() || one.textValue().length() > MAX_SCOPE_LENGTH) {
                throw new LedgerDataException("Nylas answered with a scope that is not a string of at most " + MAX_SCOPE_LENGTH + " characters");
            }
            scopes.add(one.textValue());
        }
        return scopes;
    }

    /** A grant Nylas made, for {@link #recordGrantsTogether}. */
    record Granted(GrantWork work, JsonNode grant, String nylasRequestId) {
    }

    /**
     * Outcomes recorded together in one transaction, as they are when they share a group commit;
     * each as {@link #recordGrant} would record it.
     */
    void recordGrantsTogether(List<Granted> outcomes) {
        List<Jdbc.Joint<Void>> records = new ArrayList<>(outcomes.size());
        for (Granted outcome : outcomes) {
            records.add(grantRecord(outcome.work(), outcome.grant(), outcome.nylasRequestId()));
        }
        if (!records.isEmpty()) {
            jdbc.inTransaction(c -> records.get(0).runJointly(c, records));
        }
    }

    /**
     * One grant's outcome, recorded with the others of its group in a few statements whatever their
     * number (the work deleted, the mailboxes updated, the events written, each a batch): on
     * PostgreSQL each statement is a round trip the whole group waits for, and on H2 a statement
     * of its own for each costs more than its share of a batch. In the group's order, so of two
     * outcomes for one mailbox the first wins, as it would one transaction after the other.
     */
    private final class GrantRecord implements Jdbc.Joint<Void> {
        private final GrantWork work;
        private final String grantId;
        private final String grantStatus;
        private final String scopeJson;
        private final String nylasRequestId;
        private final Function<String, OutboundRecord> created;
        private final OutboundRecord event;

        GrantRecord(GrantWork work, String grantId, String grantStatus, String scopeJson, String nylasRequestId,
                    Function<String, OutboundRecord> created, OutboundRecord event) {
            this.work = work;
            this.grantId = grantId;
            this.grantStatus = grantStatus;
            this.scopeJson = scopeJson;
            this.nylasRequestId = nylasRequestId;
            this.created = created;
            this.event = event;
        }

        @Override
        public List<Void> runJointly(Connection c, List<Jdbc.Joint<Void>> pieces) throws SQLException {
            Instant now = Instant.now(clock);
            List<GrantRecord> records = new ArrayList<>(pieces.size());
            pieces.forEach(piece -> records.add((GrantRecord) piece));
            GrantQueue.done(c, records.stream().map(record -> record.work.id()).toList());
            // Once per mailbox: a work record handled twice (a relay lease that ran out) announces nothing new.
            int[] updated;
            try (PreparedStatement update = c.prepareStatement("update mailbox set grant_state = 'granted', grant_id = ?,"
                    + " nylas_grant_status = ?, grant_scope = ?, error_type = null, error_message = null, http_status = null,"
                    + " nylas_request_id = ?, updated_at = ? where tenant_id = ? and email = ? and grant_state in ('queued', 'failed')")) {
                for (GrantRecord record : records) {
                    Jdbc.bind(update, record.grantId, record.grantStatus, record.scopeJson, record.nylasRequestId, now,
                            record.work.tenantId(), record.work.email());
                    if (records.size() > 1) {
                        update.addBatch();
                    }
                }
                // Alone (a group of one, or each again after its group failed): a count from any driver.
                updated = records.size() == 1 ? new int[]{update.executeUpdate()} : update.executeBatch();
            }
            List<GrantRecord> granted = new ArrayList<>(records.size());
            for (int i = 0; i < records.size(); i++) {
                if (updated[i] < 0) {
                    // A driver that counts no rows in a batch: the group runs again one outcome at a time (executeUpdate).
                    throw new IllegalStateException("the ledger database gave no row count for a grant's update");
                }
                if (updated[i] == 0) {
                    records.get(i).removedMeanwhile(c, now);
                } else {
                    granted.add(records.get(i));
                }
            }
            if (granted.isEmpty()) {
                return Collections.nCopies(records.size(), null);
            }
            // Each grant's event, then the same outcome for every other request that asked for the mailbox
            // meanwhile (mailbox_waiter), in the group's order: as one transaction after the other writes them.
            Map<List<String>, List<String>> waiting = waiters(c, granted);
            List<OutboundRecord> told = new ArrayList<>(granted.size());
            List<GrantRecord> awaited = new ArrayList<>();
            for (GrantRecord record : granted) {
                told.add(record.event);
                List<String> requests = waiting.get(List.of(record.work.tenantId(), record.work.email()));
                if (requests != null) {
                    awaited.add(record);
                    requests.forEach(requestId -> told.add(record.created.apply(requestId)));
                }
            }
            try (PreparedStatement outbox = Outbox.batch(c)) {
                for (OutboundRecord event : told) {
                    Outbox.bind(outbox, event, now);
                }
                outbox.executeBatch();
            }
            if (!awaited.isEmpty()) {
                try (PreparedStatement answered = c.prepareStatement(WAITERS_ANSWERED)) {
                    for (GrantRecord record : awaited) {
                        Jdbc.bind(answered, record.work.tenantId(), record.work.email());
                        answered.addBatch();
                    }
                    answered.executeBatch();
                }
            }
            for (GrantRecord record : granted) {
                if (record.work.isRestore()) {
                    GrantHealth.restored(c, record.work.tenantId(), record.work.email(), record.work.credentialId(), now);
                }
            }
            return Collections.nCopies(records.size(), null);
        }

        /** The requests waiting for these mailboxes' outcomes, by (tenant, mailbox), in one query. */
        private static Map<List<String>, List<String>> waiters(Connection c, List<GrantRecord> granted) throws SQLException {
            Set<String> tenants = new LinkedHashSet<>();
            Set<String> emails = new LinkedHashSet<>();
            for (GrantRecord record : granted) {
                tenants.add(record.work.tenantId());
                emails.add(record.work.email());
            }
            List<Object> params = new ArrayList<>(tenants);
            params.addAll(emails);
            Map<List<String>, List<String>> waiting = new HashMap<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id, email, request_id from mailbox_waiter where tenant_id in ("
                    + Jdbc.marks(tenants.size()) + ") and email in (" + Jdbc.marks(emails.size()) + ") order by request_id", params.toArray());
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    // The cross product of the two lists may name a mailbox of another outcome's tenant: not looked up.
                    waiting.computeIfAbsent(List.of(rs.getString(1), rs.getString(2)), key -> new ArrayList<>()).add(rs.getString(3));
                }
            }
            return waiting;
        }

        /** The mailbox was removed while its call was on the way: its new grant is to be deleted. */
        private void removedMeanwhile(Connection c, Instant now) throws SQLException {
            int removed = Jdbc.update(c, "update mailbox set grant_state = 'deleting', grant_id = ?, updated_at = ?"
                    + " where tenant_id = ? and email = ? and grant_state = 'deleted'", grantId, now, work.tenantId(), work.email());
            if (removed == 1) {
                // On behalf of the offboarding, if that is what removed the mailbox, so it counts the grant.
                String onBehalfOf = work.requestId();
                try (PreparedStatement s = Jdbc.prepare(c, "select offboard_request_id from tenant where tenant_id = ?"
                        + " and consent_status = 'offboarding' and offboard_request_id is not null", work.tenantId());
                     ResultSet rs = s.executeQuery()) {
                    if (rs.next()) {
                        onBehalfOf = rs.getString(1);
                    }
                }
                GrantQueue.add(c, work.tenantId(), work.email(), GrantWork.DELETE, onBehalfOf, work.credentialId(), grantId, now);
            }
        }
    }

    public void recordGrantFailure(GrantWork work, NylasError error) {
        jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            GrantQueue.done(c, work);
            int updated = Jdbc.update(c, "update mailbox set grant_state = 'failed', error_type = ?, error_message = ?, http_status = ?,"
                            + " nylas_request_id = ?, updated_at = ? where tenant_id = ? and email = ? and grant_state = 'queued'",
                    truncate(error.type(), 128), truncate(error.message(), 2048), error.httpStatus(), truncate(error.requestId(), 128),
                    now, work.tenantId(), work.email());
            Function<String, OutboundRecord> failed = requestId -> events.grantFailed(work.tenantId(), requestId,
                    work.credentialId(), work.email(), error.asEventField());
            Outbox.add(c, now, failed.apply(work.requestId()));
            if (updated == 1) {
                answerWaiters(c, work.tenantId(), work.email(), failed, now);
            }
            return null;
        });
    }

    // ---- expiry ----------------------------------------------------------------------------

    /** Expires links past their time; each expiry is announced by whichever instance wins the update. */
    public int expireLinks(int max) {
        Instant now = Instant.now(clock);
        List<String> due = jdbc.inTransaction(c -> {
            List<String> tenants = new ArrayList<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id from tenant where consent_status = 'pending' and expires_at <= ?"
                    + " order by expires_at limit ?", now, max);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    tenants.add(rs.getString(1));
                }
            }
            return tenants;
        });
        int expired = 0;
        for (String tenantId : due) {
            expired += jdbc.inTransaction(c -> {
                String requestId;
                String credentialId;
                Instant expiresAt;
                try (PreparedStatement s = Jdbc.prepare(c, "select request_id, credential_id, expires_at from tenant where tenant_id = ?", tenantId);
                     ResultSet rs = s.executeQuery()) {
                    rs.next();
                    requestId = rs.getString(1);
                    credentialId = rs.getString(2);
                    expiresAt = Jdbc.instant(rs.getObject(3));
                }
                int won = Jdbc.update(c, "update tenant set consent_status = 'expired', updated_at = ? where tenant_id = ?"
                        + " and consent_status = 'pending' and expires_at <= ?", now, tenantId, now);
                if (won == 1) {
                    Outbox.add(c, now, events.consentExpired(tenantId, requestId, credentialId, expiresAt));
                }
                return won;
            });
        }
        return expired;
    }

    // ---- status ----------------------------------------------------------------------------

    /** The operator's view of one tenant ({@code GET /onboarding/{tenant_id}}), or empty when unknown. */
    public Optional<Map<String, Object>> status(String tenantId) {
        return jdbc.inTransaction(c -> {
            Map<String, Object> status = new LinkedHashMap<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select request_id, consent_status, credential_id, expires_at, consent_error,"
                    + " consent_error_description, created_at, updated_at from tenant where tenant_id = ?", tenantId);
                 ResultSet rs = s.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                status.put("tenant_id", tenantId);
                status.put("request_id", rs.getString(1));
                status.put("consent_status", rs.getString(2));
                status.put("credential_id", rs.getString(3));
                Instant expires = Jdbc.instant(rs.getObject(4));
                status.put("expires_at", expires == null ? null : expires.toString());
                if (rs.getString(5) != null) {
                    status.put("error", rs.getString(5));
                    status.put("error_description", rs.getString(6));
                }
                status.put("created_at", Jdbc.instant(rs.getObject(7)).toString());
                status.put("updated_at", Jdbc.instant(rs.getObject(8)).toString());
            }
            Map<String, Long> counts = emptyBuckets();
            try (PreparedStatement s = Jdbc.prepare(c, "select grant_state, count(*) from mailbox where tenant_id = ? group by grant_state", tenantId);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    counts.merge(statusBucket(rs.getString(1)), rs.getLong(2), Long::sum);
                }
            }
            status.put("mailboxes", counts);
            FanOut fanOut = fanOut(c, tenantId, Instant.now(clock));
            if (fanOut != null) {
                status.put("progress", fanOut.asMap());
            }
            return Optional.of(status);
        });
    }

    /**
     * The status view's counts (contract §3, §5): a grant whose deletion failed is still live, so
     * granted; one being deleted, like one on its way, is pending.
     */
    /** The status's mailbox counts, each at zero, in the order the status shows them. */
    static Map<String, Long> emptyBuckets() {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (String bucket : List.of("granted", "failed", "pending", "expired", "deleted")) {
            counts.put(bucket, 0L);
        }
        return counts;
    }

    static String statusBucket(String grantState) {
        return switch (grantState) {
            case "granted", "delete_failed" -> "granted";
            case "failed", "expired", "deleted" -> grantState;
            default -> "pending";
        };
    }

    /**
     * A running fan-out: mailboxes done (granted or failed) of all the tenant's mailboxes that are
     * done or on their way, the pace over the last {@link #PACE_WINDOW}, and when it should end.
     */
    public record FanOut(String tenantId, long done, long total, double perSecond, Instant estimatedEnd) {
        /** Grants per second, one decimal. */
        public String pace() {
            return String.format(java.util.Locale.ROOT, "%.1f", perSecond);
        }

        Map<String, Object> asMap() {
            Map<String, Object> progress = new LinkedHashMap<>();
            progress.put("done", done);
            progress.put("total", total);
            progress.put("grants_per_second", Math.round(perSecond * 10) / 10.0);
            progress.put("estimated_end", estimatedEnd == null ? null : estimatedEnd.toString());
            return progress;
        }
    }

    static final java.time.Duration PACE_WINDOW = java.time.Duration.ofSeconds(10);

    /** Every tenant whose mailboxes are being granted now (consented, some still queued). */
    public List<FanOut> runningFanOuts() {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            List<String> running = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("select distinct tenant_id from mailbox where grant_state = 'queued' order by tenant_id");
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    running.add(rs.getString(1));
                }
            }
            List<FanOut> fanOuts = new ArrayList<>();
            for (String tenantId : running) {
                FanOut fanOut = fanOut(c, tenantId, now);
                if (fanOut != null) {
                    fanOuts.add(fanOut);
                }
            }
            return fanOuts;
        });
    }

    private static FanOut fanOut(Connection c, String tenantId, Instant now) throws SQLException {
        long queued = 0;
        long done = 0;
        long recent = 0;
        try (PreparedStatement s = Jdbc.prepare(c, "select grant_state, count(*), sum(case when updated_at >= ? then 1 else 0 end)"
                + " from mailbox where tenant_id = ? and grant_state in ('queued', 'granted', 'failed') group by grant_state", now.minus(PACE_WINDOW), tenantId);
             ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                if (rs.getString(1).equals("queued")) {
                    queued = rs.getLong(2);
                } else {
                    done += rs.getLong(2);
                    recent += rs.getLong(3);
                }
            }
        }
        if (queued == 0) {
            return null;
        }
        // The pace over the last 10 s, or since the fan-out began (its mailboxes were queued) when that is sooner.
        long windowMillis = PACE_WINDOW.toMillis();
        try (PreparedStatement s = Jdbc.prepare(c, "select min(updated_at) from mailbox where tenant_id = ? and grant_state = 'queued'", tenantId);
             ResultSet rs = s.executeQuery()) {
            if (rs.next() && rs.getObject(1) != null) {
                long since = java.time.Duration.between(Jdbc.instant(rs.getObject(1)), now).toMillis();
                windowMillis = Math.max(1000, Math.min(windowMillis, since));
            }
        }
        double perSecond = recent * 1000.0 / windowMillis;
        Instant end = perSecond > 0 ? now.plusMillis((long) (queued / perSecond * 1000)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS) : null;
        return new FanOut(tenantId, done, done + queued, perSecond, end);
    }

    /** One page of tenants, by tenant id, optionally of one consent status; and how many there are in all. */
    public Map<String, Object> tenants(String status, int limit, int offset) {
        return jdbc.inTransaction(c -> {
            List<Map<String, Object>> page = new ArrayList<>();
            String where = status == null ? "" : " where consent_status = ?";
            Object[] filter = status == null ? new Object[0] : new Object[]{status};
            Object[] paged = status == null ? new Object[]{limit, offset} : new Object[]{status, limit, offset};
            try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id, consent_status, request_id, credential_id, updated_at from tenant"
                    + where + " order by tenant_id limit ? offset ?", paged);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> tenant = new LinkedHashMap<>();
                    tenant.put("tenant_id", rs.getString(1));
                    tenant.put("consent_status", rs.getString(2));
                    tenant.put("request_id", rs.getString(3));
                    tenant.put("credential_id", rs.getString(4));
                    tenant.put("updated_at", Jdbc.instant(rs.getObject(5)).toString());
                    page.add(tenant);
                }
            }
            long total;
            try (PreparedStatement s = Jdbc.prepare(c, "select count(*) from tenant" + where, filter); ResultSet rs = s.executeQuery()) {
                rs.next();
                total = rs.getLong(1);
            }
            Map<String, Object> answer = new LinkedHashMap<>();
            answer.put("tenants", page);
            answer.put("total", total);
            answer.put("limit", limit);
            answer.put("offset", offset);
            return answer;
        });
    }

    /** What the metrics show of the ledger. */
    public record Gauges(long grantsWaiting, long oldestPendingConsentSeconds, Map<String, Long> attention) {
    }

    public Gauges gauges() {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            long waiting = single(c, "select count(*) from mailbox where grant_state in ('queued', 'deleting')");
            long oldest = 0;
            try (PreparedStatement s = c.prepareStatement("select min(updated_at) from tenant where consent_status = 'pending'");
                 ResultSet rs = s.executeQuery()) {
                if (rs.next() && rs.getObject(1) != null) {
                    oldest = Math.max(0, java.time.Duration.between(Jdbc.instant(rs.getObject(1)), now).toSeconds());
                }
            }
            Map<String, Long> attention = new LinkedHashMap<>();
            try (PreparedStatement s = c.prepareStatement("select attention_cause, count(*) from tenant where attention_cause is not null group by attention_cause");
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    attention.put(rs.getString(1), rs.getLong(2));
                }
            }
            return new Gauges(waiting, oldest, attention);
        });
    }

    private static long single(Connection c, String sql) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql); ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static final int PING_TIMEOUT_SECONDS = 2;

    /** A cheap round trip for the health check. */
    public void ping() {
        jdbc.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("select 1")) {
                // A database that hangs must not hold the health checker's one thread for long. Set only
                // when not set already: on H2 the timeout is the connection's, and setting it is a change
                // to the database's settings, after which every connection parses its statements again
                // (once a second, the health check's pace: GrantCostBenchmark).
                if (s.getQueryTimeout() != PING_TIMEOUT_SECONDS) {
                    s.setQueryTimeout(PING_TIMEOUT_SECONDS);
                }
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next();
                }
            }
        });
    }

    // ---- helpers ---------------------------------------------------------------------------

    /**
     * Adds a request's mailboxes. A mailbox the tenant already has under another request: still on
     * its way (waiting, queued), this request waits for the same outcome; already granted, this
     * request is told at once; failed, the caller decides (a mailbox request asks again).
     */
    private void addMailboxes(Connection c, String tenantId, String requestId, String credentialId, List<String> emails,
                              String state, Instant now) throws SQLException {
        if (emails.isEmpty()) {
            return;
        }
        int[] inserted;
        try (PreparedStatement insert = c.prepareStatement("insert into mailbox (tenant_id, email, request_id, grant_state, updated_at)"
                + " values (?, ?, ?, ?, ?) on conflict do nothing")) {
            for (String email : emails) {
                Jdbc.bind(insert, tenantId, email, requestId, state, now);
                insert.addBatch();
            }
            inserted = insert.executeBatch();
        }
        // Only the mailboxes the tenant already had (nothing inserted) are looked at again.
        try (PreparedStatement existing = c.prepareStatement("select request_id, grant_state, grant_id, nylas_grant_status, grant_scope"
                + " from mailbox where tenant_id = ? and email = ?");
             PreparedStatement waiter = c.prepareStatement("insert into mailbox_waiter (tenant_id, email, request_id)"
                     + " values (?, ?, ?) on conflict do nothing");
             PreparedStatement told = Outbox.batch(c)) {
            for (int i = 0; i < emails.size(); i++) {
                if (inserted[i] > 0) {
                    continue;
                }
                String email = emails.get(i);
                Jdbc.bind(existing, tenantId, email);
                try (ResultSet row = existing.executeQuery()) {
                    if (!row.next() || row.getString(1).equals(requestId)) {
                        continue;
                    }
                    String grantState = row.getString(2);
                    if ("deleted".equals(grantState)) {
                        // Removed earlier (remove_mailboxes, offboarding): asked for again, it starts afresh.
                        Jdbc.update(c, "update mailbox set grant_state = ?, request_id = ?, grant_id = null, nylas_grant_status = null,"
                                + " grant_scope = null, deleted_by = null, error_type = null, error_message = null, http_status = null,"
                                + " updated_at = ? where tenant_id = ? and email = ? and grant_state = 'deleted'", state, requestId, now, tenantId, email);
                    } else if ("waiting".equals(grantState) || "queued".equals(grantState)) {
                        Jdbc.bind(waiter, tenantId, email, requestId);
                        waiter.addBatch();
                    } else if ("granted".equals(grantState)) {
                        Outbox.bind(told, events.grantCreated(tenantId, requestId, credentialId, email,
                                row.getString(3), row.getString(4), scope(row.getString(5))), now);
                    }
                }
            }
            waiter.executeBatch();
            told.executeBatch();
        }
    }

    private List<?> scope(String json) {
        if (json == null) {
            return List.of();
        }
        try {
            return mapper.readValue(json, List.class);
        } catch (JsonProcessingException e) {
            return List.of();
        }
    }

    private static final String WAITERS_ANSWERED = "delete from mailbox_waiter where tenant_id = ? and email = ?";

    /** The same outcome for every other request that asked for this mailbox meanwhile; they are then answered. */
    private void answerWaiters(Connection c, String tenantId, String email, Function<String, OutboundRecord> outcome,
                               Instant now) throws SQLException {
        List<String> waiting = new ArrayList<>();
        try (PreparedStatement s = Jdbc.prepare(c, "select request_id from mailbox_waiter where tenant_id = ? and email = ? order by request_id",
                tenantId, email);
             ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                waiting.add(rs.getString(1));
            }
        }
        if (waiting.isEmpty()) {
            return;
        }
        for (String requestId : waiting) {
            Outbox.add(c, now, outcome.apply(requestId));
        }
        Jdbc.update(c, WAITERS_ANSWERED, tenantId, email);
    }

    /** One {@code grant.failed} ({@code invalid_mailbox}) per string that is not an address, with the string as given. */
    private void announceInvalid(Connection c, String tenantId, String requestId, String credentialId,
                                 List<InvalidMailbox> invalid) throws SQLException {
        if (invalid.isEmpty()) {
            return;
        }
        Instant now = Instant.now(clock);
        try (PreparedStatement batch = Outbox.batch(c)) {
            for (InvalidMailbox mailbox : invalid) {
                Outbox.bind(batch, events.invalidMailbox(tenantId, requestId, credentialId, mailbox.given(), mailbox.problem()), now);
            }
            batch.executeBatch();
        }
    }

    private String json(Object value) {
        try {
            return mapper.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean exists(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement s = Jdbc.prepare(c, sql, params); ResultSet rs = s.executeQuery()) {
            return rs.next();
        }
    }

    static String truncate(String value, int max) {
        return value == null || value.length() <= max ? value : value.substring(0, max);
    }
}
