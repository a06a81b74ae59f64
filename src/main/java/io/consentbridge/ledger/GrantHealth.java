package io.consentbridge.ledger;

import io.consentbridge.events.ResultEvents;
import io.consentbridge.grants.GrantWork;
import io.consentbridge.nylas.ExpiryCause;
import io.consentbridge.nylas.NylasError;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The ledger's part for keeping grants healthy (contract §5): Nylas's grant notifications, expiry
 * handled by cause, and the comparison with Nylas's own list of grants. When grants of a tenant
 * expire, one mailbox is restored first (the probe): if that works the rest follow; if Nylas names
 * a tenant-wide cause, no more calls are spent and the operator is told once
 * ({@code tenant.attention_needed}), until the action that fixes it (reconsent, rotate_secret)
 * restores every affected mailbox.
 */
public class GrantHealth {
    public enum Handled { RECORDED, DUPLICATE, IGNORED }

    /** What the ledger holds of one grant, for a comparison with Nylas. */
    public record LedgerGrant(String tenantId, String email, String grantId, String state) {
    }

    /** The counts of {@code reconciliation.completed}. */
    public record Counts(long checked, long inSync, long expired, long missing, long restored) {
        Counts plus(Counts other) {
            return new Counts(checked + other.checked, inSync + other.inSync, expired + other.expired, missing + other.missing,
                    restored + other.restored);
        }
    }

    static final String SWEEP = "reconcile";

    private final Jdbc jdbc;
    private final Clock clock;
    private final ResultEvents events;
    private final String instanceId;
    private final Duration sweepInterval;

    /**
     * @param instanceId    this instance, as the sweep lease names it
     * @param sweepInterval {@code reconcile.interval}; zero: no periodic sweep
     */
    public GrantHealth(DataSource dataSource, Clock clock, ResultEvents events, String instanceId, Duration sweepInterval) {
        this(new Jdbc(dataSource), clock, events, instanceId, sweepInterval);
    }

    /** Notifications come in floods (thousands at once): they share commits, each answered only after its own. */
    public static GrantHealth groupCommitting(DataSource dataSource, int writers, int maxGroup, Clock clock, ResultEvents events) {
        return new GrantHealth(new GroupCommit(dataSource, "notification-group-commit", writers, maxGroup), clock, events,
                null, Duration.ZERO);
    }

    private GrantHealth(Jdbc jdbc, Clock clock, ResultEvents events, String instanceId, Duration sweepInterval) {
        this.jdbc = jdbc;
        this.clock = clock;
        this.events = events;
        this.instanceId = instanceId;
        this.sweepInterval = sweepInterval;
    }

    public void close() {
        if (jdbc instanceof GroupCommit group) {
            group.close();
        }
    }

    // ---- notifications ---------------------------------------------------------------------

    /**
     * A verified notification, recorded once by its id (across instances) and acted on in the same
     * transaction: {@code grant.expired} expires the mailbox (and starts or joins a probe),
     * {@code grant.deleted} marks it deleted by Nylas, {@code grant.updated} with a
     * re-authentication restores an expired one. Grants the bridge never made, and other types,
     * are recorded and ignored.
     */
    public Handled record(String id, String type, String grantId, boolean reauthenticated) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            int fresh = Jdbc.update(c, "insert into nylas_notification (id, type, grant_id, received_at) values (?, ?, ?, ?) on conflict do nothing",
                    id, ConsentLedger.truncate(type, 64), grantId == null || grantId.length() > 128 ? null : grantId, now);
            if (fresh == 0) {
                return Handled.DUPLICATE;
            }
            if (grantId == null || grantId.length() > 128) {
                return Handled.IGNORED;
            }
            String[] mailbox = mailboxOfGrant(c, grantId);
            if (mailbox == null) {
                return Handled.IGNORED;
            }
            String tenantId = mailbox[0];
            String email = mailbox[1];
            String credentialId = mailbox[3];
            switch (type) {
                case "grant.expired" -> {
                    if (expire(c, tenantId, email, grantId, credentialId, null, now)) {
                        probeIfNeeded(c, tenantId, now);
                    }
                }
                case "grant.deleted" -> {
                    int won = Jdbc.update(c, "update mailbox set grant_state = 'deleted', deleted_by = null, updated_at = ? where tenant_id = ?"
                            + " and email = ? and grant_id = ? and grant_state in ('granted', 'expired', 'delete_failed')", now, tenantId, email, grantId);
                    if (won == 1) {
                        Outbox.add(c, now, events.grantDeleted(tenantId, null, credentialId, email, grantId, "nylas"));
                    }
                }
                case "grant.updated" -> {
                    if (reauthenticated) {
                        restoredAtNylas(c, tenantId, email, grantId, credentialId, null, now);
                    }
                }
                default -> {
                    return Handled.IGNORED;
                }
            }
            return Handled.RECORDED;
        });
    }

    /** Notification ids older than this are forgotten: Nylas stops retrying a delivery after about 20 minutes. */
    public int forgetNotificationsBefore(String age) {
        return jdbc.inTransaction(c -> Jdbc.update(c, "delete from nylas_notification where received_at < ?",
                Instant.now(clock).minus(Duration.parse(age))));
    }

    // ---- restores and their outcome ------------------------------------------------------------

    /**
     * A restore (re-authentication) failed, after the retries that could help. A mailbox-only cause
     * fails that mailbox and probes the next; a tenant-wide cause stops the calls and tells the
     * operator once; a transient one leaves the mailbox expired for the next notification or sweep.
     */
    public ExpiryCause restoreFailed(GrantWork work, NylasError error) {
        ExpiryCause cause = ExpiryCause.of(error);
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            GrantQueue.done(c, work);
            boolean wasProbe = Jdbc.update(c, "update tenant set probe_email = null where tenant_id = ? and probe_email = ?",
                    work.tenantId(), work.email()) == 1;
            if (cause == ExpiryCause.MAILBOX) {
                int failed = Jdbc.update(c, "update mailbox set grant_state = 'failed', error_type = ?, error_message = ?, http_status = ?,"
                                + " nylas_request_id = ?, updated_at = ? where tenant_id = ? and email = ? and grant_state = 'queued'",
                        ConsentLedger.truncate(error.type(), 128), ConsentLedger.truncate(error.message(), 2048), error.httpStatus(),
                        ConsentLedger.truncate(error.requestId(), 128), now, work.tenantId(), work.email());
                if (failed == 1) {
                    Outbox.add(c, now, events.grantFailed(work.tenantId(), work.requestId(), work.credentialId(), work.email(), error.asEventField()));
                }
                if (wasProbe) {
                    probeIfNeeded(c, work.tenantId(), now);
                }
                return cause;
            }
            Jdbc.update(c, "update mailbox set grant_state = 'expired', updated_at = ? where tenant_id = ? and email = ? and grant_state = 'queued'",
                    now, work.tenantId(), work.email());
            if (cause.tenantWide()) {
                String status = switch (cause) {
                    case CONSENT_REVOKED -> "needs_reconsent";
                    case SECRET_INVALID -> "needs_secret_rotation";
                    default -> null;
                };
                int told = Jdbc.update(c, "update tenant set attention_cause = ?, probe_email = null,"
                                + " consent_status = case when ? is not null and consent_status = 'granted' then ? else consent_status end,"
                                + " updated_at = ? where tenant_id = ? and attention_cause is null",
                        cause.cause(), status, status, now, work.tenantId());
                if (told == 1) {
                    long affected = count(c, "select count(*) from mailbox where tenant_id = ? and grant_state = 'expired'", work.tenantId());
                    Outbox.add(c, now, events.attentionNeeded(work.tenantId(), work.requestId(), work.credentialId(), cause.cause(),
                            cause.action(), affected, error.asEventField()));
                }
            }
            return cause;
        });
    }

    /**
     * After a restore succeeded (inside {@link ConsentLedger#recordGrant}'s transaction): when it
     * was the tenant's probe, the tenant's other expired mailboxes are restored now.
     */
    static void restored(Connection c, String tenantId, String email, String credentialId, Instant now)
            throws SQLException {
        if (Jdbc.update(c, "update tenant set probe_email = null where tenant_id = ? and probe_email = ?", tenantId, email) == 1) {
            MailboxRows.queue(c, tenantId, credentialId, MailboxRows.in(c, tenantId, "expired"), true, now);
        }
    }

    /**
     * Starts a probe (one restore) for a tenant with expired mailboxes, unless one is on its way,
     * the tenant waits for an operator's action, or it is not consented.
     */
    static void probeIfNeeded(Connection c, String tenantId, Instant now) throws SQLException {
        String credentialId;
        try (PreparedStatement s = Jdbc.prepare(c, "select credential_id from tenant where tenant_id = ? and consent_status = 'granted'"
                + " and probe_email is null and attention_cause is null for update", tenantId);
             ResultSet rs = s.executeQuery()) {
            if (!rs.next()) {
                return;
            }
            credentialId = rs.getString(1);
        }
        List<String[]> expired = MailboxRows.in(c, tenantId, "expired");
        if (expired.isEmpty()) {
            return;
        }
        String[] probe = expired.get(0);
        Jdbc.update(c, "update tenant set probe_email = ? where tenant_id = ?", probe[0], tenantId);
        MailboxRows.queue(c, tenantId, credentialId, List.<String[]>of(probe), true, now);
    }

    /** An expired grant Nylas says is valid again: the mailbox is granted and grant.restored told, once. */
    private boolean restoredAtNylas(Connection c, String tenantId, String email, String grantId, String credentialId, String requestId,
                                    Instant now) throws SQLException {
        int won = Jdbc.update(c, "update mailbox set grant_state = 'granted', updated_at = ? where tenant_id = ? and email = ?"
                + " and grant_id = ? and grant_state = 'expired'", now, tenantId, email, grantId);
        if (won == 1) {
            Outbox.add(c, now, events.grantRestored(tenantId, requestId, credentialId, email, grantId));
        }
        return won == 1;
    }

    /** Marks a granted mailbox expired and announces it; false when it was not granted (already handled). */
    private boolean expire(Connection c, String tenantId, String email, String grantId, String credentialId, String requestId, Instant now)
            throws SQLException {
        int won = Jdbc.update(c, "update mailbox set grant_state = 'expired', updated_at = ? where tenant_id = ? and email = ?"
                + " and grant_id = ? and grant_state = 'granted'", now, tenantId, email, grantId);
        if (won == 1) {
            Outbox.add(c, now, events.grantExpired(tenantId, requestId, credentialId, email, grantId));
        }
        return won == 1;
    }

    // ---- reconciliation --------------------------------------------------------------------

    /**
     * True for exactly one instance once per {@code interval}: the one that moves the sweep's lease
     * on. The first sweep comes one interval after the first start. {@code PT0S} turns the sweep off.
     */
    public boolean sweepDue() {
        Duration interval = sweepInterval;
        if (instanceId == null || interval.isZero() || interval.isNegative()) {
            return false;
        }
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            int moved = Jdbc.update(c, "update sweep_lease set holder = ?, until = ? where name = ? and until <= ?",
                    instanceId, now.plus(interval), SWEEP, now);
            if (moved == 1) {
                return true;
            }
            // The first instance ever schedules the first sweep one interval on (a new ledger has nothing to compare).
            Jdbc.update(c, "insert into sweep_lease (name, holder, until) values (?, ?, ?) on conflict do nothing",
                    SWEEP, instanceId, now.plus(interval));
            return false;
        });
    }

    /**
     * The grants the ledger expects to be live (granted or expired), of one tenant or of all, left
     * as they were since before Nylas's list was read: a grant made or changed meanwhile may be
     * missing from that list without being gone.
     */
    public List<LedgerGrant> grantsToCheck(String tenantId, Instant unchangedSince) {
        return jdbc.inTransaction(c -> {
            List<LedgerGrant> grants = new ArrayList<>();
            try (PreparedStatement s = tenantId == null
                    ? Jdbc.prepare(c, "select tenant_id, email, grant_id, grant_state from mailbox where grant_id is not null"
                    + " and grant_state in ('granted', 'expired') and updated_at < ? order by tenant_id, email", unchangedSince)
                    : Jdbc.prepare(c, "select tenant_id, email, grant_id, grant_state from mailbox where tenant_id = ? and grant_id is not null"
                    + " and grant_state in ('granted', 'expired') and updated_at < ? order by email", tenantId, unchangedSince);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    grants.add(new LedgerGrant(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
                }
            }
            return grants;
        });
    }

    /**
     * Compares the ledger with Nylas's list ({@code grant id -> grant_status}) and acts on the
     * difference, one transaction per tenant: a grant invalid or gone at Nylas is handled as an
     * expired one (grant.expired, then the probe); one expired here but valid there is restored.
     * Then {@code reconciliation.completed}, with {@code tenant_id} {@code *} for a full sweep.
     */
    public Counts reconcile(String tenantId, String requestId, Map<String, String> atNylas, Instant listedFrom) {
        List<LedgerGrant> grants = grantsToCheck(tenantId, listedFrom);
        Counts total = new Counts(0, 0, 0, 0, 0);
        // One pass over the list: grouped by tenant (in the order read), not filtered again per tenant.
        Map<String, List<LedgerGrant>> byTenant = grants.stream()
                .collect(java.util.stream.Collectors.groupingBy(LedgerGrant::tenantId, java.util.LinkedHashMap::new, java.util.stream.Collectors.toList()));
        for (Map.Entry<String, List<LedgerGrant>> tenant : byTenant.entrySet()) {
            total = total.plus(jdbc.inTransaction(c -> reconcileTenant(c, tenant.getKey(), requestId, tenant.getValue(), atNylas)));
        }
        Counts counts = total;
        jdbc.inTransaction(c -> {
            Outbox.add(c, Instant.now(clock), events.reconciliationCompleted(tenantId == null ? "*" : tenantId, requestId,
                    counts.checked(), counts.inSync(), counts.expired(), counts.missing(), counts.restored()));
            return null;
        });
        return counts;
    }

    private Counts reconcileTenant(Connection c, String tenantId, String requestId, List<LedgerGrant> grants, Map<String, String> atNylas)
            throws SQLException {
        Instant now = Instant.now(clock);
        String credentialId = null;
        try (PreparedStatement s = Jdbc.prepare(c, "select credential_id from tenant where tenant_id = ?", tenantId);
             ResultSet rs = s.executeQuery()) {
            if (rs.next()) {
                credentialId = rs.getString(1);
            }
        }
        long checked = 0, inSync = 0, expired = 0, missing = 0, restored = 0;
        for (LedgerGrant grant : grants) {
            checked++;
            String status = atNylas.get(grant.grantId());
            if (status == null) {
                missing++;
            }
            boolean valid = "valid".equals(status);
            if (grant.state().equals("granted")) {
                if (valid) {
                    inSync++;
                } else {
                    expired++;
                    expire(c, tenantId, grant.email(), grant.grantId(), credentialId, requestId, now);
                }
            } else if (valid) {
                // Expired here, valid there (re-authenticated outside, or a notification was missed).
                if (restoredAtNylas(c, tenantId, grant.email(), grant.grantId(), credentialId, requestId, now)) {
                    restored++;
                }
            } else {
                expired++;
            }
        }
        probeIfNeeded(c, tenantId, now);
        return new Counts(checked, inSync, expired, missing, restored);
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** (tenant, email, state, credential) of the mailbox holding a grant, or null. */
    private static String[] mailboxOfGrant(Connection c, String grantId) throws SQLException {
        try (PreparedStatement s = Jdbc.prepare(c, "select m.tenant_id, m.email, m.grant_state, t.credential_id from mailbox m"
                + " join tenant t on t.tenant_id = m.tenant_id where m.grant_id = ?", grantId);
             ResultSet rs = s.executeQuery()) {
            return rs.next() ? new String[]{rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)} : null;
        }
    }

    private static long count(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement s = Jdbc.prepare(c, sql, params); ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
