package io.consentbridge.ledger;

import io.consentbridge.consent.ConsentLink;
import io.consentbridge.events.ResultEvents;
import io.consentbridge.grants.GrantWork;
import io.consentbridge.inbound.AdminCommand;
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
import java.util.Set;

/**
 * The ledger's part for a tenant's life after onboarding (contract §5): lifecycle commands,
 * deletions of grants, the end of an offboarding, and the secret-expiry forecast. Like
 * {@link ConsentLedger}, each method is one transaction, its events go into the outbox in that
 * transaction, and conditional updates make each change happen once across instances.
 */
public class TenantLifecycle {
    /** A command admitted, with what its route needs of the tenant. */
    public record Target(ConsentLedger.Admission admission, String credentialId, String azureTenant) {
        public boolean duplicate() {
            return admission == ConsentLedger.Admission.DUPLICATE;
        }
    }

    /** An offboarding whose deletions are all done (or failed): its credential can go, its result be told. */
    public record FinishedOffboarding(String tenantId, String requestId, String credentialId, long deleted, long failed) {
        /** The credential is deleted only when no grant made with it is left. */
        public boolean deletesCredential() {
            return failed == 0 && credentialId != null && NylasIds.isSafe(credentialId);
        }
    }

    private static final Set<String> ONBOARDED = Set.of("granted", "pending", "denied", "expired", "needs_reconsent", "needs_secret_rotation");

    private final Jdbc jdbc;
    private final Clock clock;
    private final ResultEvents events;
    private final Duration secretExpiryWarning;

    public TenantLifecycle(DataSource dataSource, Clock clock, ResultEvents events, Duration secretExpiryWarning) {
        this.jdbc = new Jdbc(dataSource);
        this.clock = clock;
        this.events = events;
        this.secretExpiryWarning = secretExpiryWarning;
    }

    // ---- commands --------------------------------------------------------------------------

    /**
     * Records a command, or recognises it: {@code DUPLICATE} when it was carried out before,
     * {@code RESUME} when an earlier delivery stopped half-way. A command the tenant's state does
     * not allow is refused (DLQ), with the reason.
     */
    public Target admitCommand(AdminCommand command) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            String status;
            String credentialId;
            String azureTenant;
            String clientId;
            try (PreparedStatement s = Jdbc.prepare(c, "select consent_status, credential_id, azure_tenant, client_id from tenant where tenant_id = ? for update",
                    command.tenantId());
                 ResultSet rs = s.executeQuery()) {
                if (!rs.next()) {
                    throw new RequestRefusedException("unknown tenant", "tenant " + command.tenantId() + " has no onboarding; nothing to " + command.command());
                }
                status = rs.getString(1);
                credentialId = rs.getString(2);
                azureTenant = rs.getString(3);
                clientId = rs.getString(4);
            }
            try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id, done from admin_command where request_id = ?", command.requestId());
                 ResultSet rs = s.executeQuery()) {
                if (rs.next()) {
                    if (!rs.getString(1).equals(command.tenantId())) {
                        throw new RequestRefusedException("request_id already used", "request " + command.requestId() + " was a command for another tenant");
                    }
                    return new Target(rs.getBoolean(2) ? ConsentLedger.Admission.DUPLICATE : ConsentLedger.Admission.RESUME, credentialId, azureTenant);
                }
            }
            try (PreparedStatement s = Jdbc.prepare(c, "select 1 from inbound_request where request_id = ?", command.requestId());
                 ResultSet rs = s.executeQuery()) {
                if (rs.next()) {
                    throw new RequestRefusedException("request_id already used", "request " + command.requestId() + " was an onboarding or mailbox request");
                }
            }
            refuseIfNotAllowed(command, status, credentialId, clientId);
            Jdbc.update(c, "insert into inbound_request (request_id, tenant_id, kind, received_at) values (?, ?, 'command', ?)",
                    command.requestId(), command.tenantId(), now);
            Jdbc.update(c, "insert into admin_command (request_id, tenant_id, command, done, received_at) values (?, ?, ?, false, ?)",
                    command.requestId(), command.tenantId(), command.command(), now);
            return new Target(ConsentLedger.Admission.NEW, credentialId, azureTenant);
        });
    }

    private static void refuseIfNotAllowed(AdminCommand command, String status, String credentialId, String clientId) {
        String tenant = "tenant " + command.tenantId() + " is " + status;
        switch (command.command()) {
            case AdminCommand.OFFBOARD -> {
                if (status.equals("offboarded")) {
                    throw new RequestRefusedException("tenant offboarded", tenant + "; nothing is left to delete");
                }
            }
            case AdminCommand.REMOVE_MAILBOXES -> {
                if (status.equals("offboarded") || status.equals("offboarding")) {
                    throw new RequestRefusedException("tenant offboarded", tenant + "; its mailboxes are deleted with it");
                }
            }
            case AdminCommand.ROTATE_SECRET -> {
                if (!ONBOARDED.contains(status) || credentialId == null) {
                    throw new RequestRefusedException("no credential to rotate", tenant + "; a secret can be rotated once the tenant has its credential");
                }
                if (clientId == null) {
                    throw new RequestRefusedException("tenant has no Azure app of its own",
                            "tenant " + command.tenantId() + " was onboarded without client_id: its credential uses the Nylas application's app, whose secret is not the tenant's to rotate");
                }
            }
            case AdminCommand.RECONSENT -> {
                if (!ONBOARDED.contains(status) || credentialId == null || !NylasIds.isSafe(credentialId)) {
                    throw new RequestRefusedException("no credential to reconsent", tenant
                            + "; a fresh link needs the tenant's credential (onboard it again after a failure or offboarding)");
                }
            }
            case AdminCommand.RECONCILE -> {
                if (!ONBOARDED.contains(status)) {
                    throw new RequestRefusedException("nothing to reconcile", tenant + "; only an onboarded tenant's grants are compared with Nylas");
                }
            }
            default -> throw new RequestRefusedException("invalid command", "unknown command " + command.command());
        }
    }

    /**
     * Starts an offboarding: the pending link stops working, every grant of the tenant is queued
     * for deletion (with this command's request id), mailboxes without a grant are simply deleted.
     * Sent again, it queues what is still to delete, such as grants whose deletion failed.
     */
    public int offboard(AdminCommand command) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            String credentialId = credentialOf(c, command.tenantId());
            Jdbc.update(c, "update tenant set consent_status = 'offboarding', offboard_request_id = ?, state_hash = null,"
                    + " link_published = true, updated_at = ? where tenant_id = ?", command.requestId(), now, command.tenantId());
            List<String[]> remaining = MailboxRows.in(c, command.tenantId(), "waiting", "queued", "granted", "failed", "expired", "delete_failed");
            int queued = MailboxRows.delete(c, command.tenantId(), command.requestId(), credentialId, remaining, now);
            done(c, command);
            return queued;
        });
    }

    /** Deletes the listed mailboxes' grants (queued, as for an offboarding); a mailbox the tenant does not have is left alone. */
    public int removeMailboxes(AdminCommand command) {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            String credentialId = credentialOf(c, command.tenantId());
            Set<String> listed = Set.copyOf(command.mailboxes());
            List<String[]> chosen = new ArrayList<>();
            for (String[] row : MailboxRows.in(c, command.tenantId(), "waiting", "queued", "granted", "failed", "expired", "delete_failed")) {
                if (listed.contains(row[0])) {
                    chosen.add(row);
                }
            }
            int queued = MailboxRows.delete(c, command.tenantId(), command.requestId(), credentialId, chosen, now);
            done(c, command);
            return queued;
        });
    }

    /**
     * The credential now holds the new secret (Nylas answered the PATCH): the tenant's app id and
     * the secret's expiry are kept, {@code credential.rotated} is published, and every mailbox whose
     * grant expired or failed for an authentication reason is granted again.
     */
    public void recordRotation(AdminCommand command) {
        jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            String credentialId = credentialOf(c, command.tenantId());
            Jdbc.update(c, "update tenant set client_id = ?, client_secret_expires_at = ?, secret_warned_for = null,"
                            + " consent_status = case when consent_status = 'needs_secret_rotation' then 'granted' else consent_status end,"
                            + " attention_cause = case when attention_cause = 'consent_revoked' then attention_cause else null end,"
                            + " probe_email = null, updated_at = ? where tenant_id = ?",
                    command.clientId(), command.clientSecretExpiresAt(), now, command.tenantId());
            Outbox.add(c, now, events.credentialRotated(command.tenantId(), command.requestId(), credentialId, command.clientSecretExpiresAt()));
            if ("granted".equals(statusOf(c, command.tenantId()))) {
                MailboxRows.queue(c, command.tenantId(), credentialId, MailboxRows.in(c, command.tenantId(), "expired"), true, now);
                List<String[]> authFailed = new ArrayList<>();
                try (PreparedStatement s = Jdbc.prepare(c, "select email, request_id, grant_id, error_type, http_status, error_message from mailbox"
                        + " where tenant_id = ? and grant_state = 'failed' order by email", command.tenantId());
                     ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        if (NylasError.isAuthFailure(rs.getString(4), (Integer) rs.getObject(5, Integer.class), rs.getString(6))) {
                            authFailed.add(new String[]{rs.getString(1), command.requestId(), rs.getString(3)});
                        }
                    }
                }
                MailboxRows.queue(c, command.tenantId(), credentialId, authFailed, false, now);
            }
            warnIfExpiring(c, command.tenantId(), command.requestId(), now);
            done(c, command);
            return null;
        });
    }

    /**
     * A reconsent's fresh link replaces the old one (whose state stops working at once); the
     * tenant is pending consent again, and events of the consent carry the command's request id.
     */
    public void storeReconsentLink(AdminCommand command, ConsentLink link) {
        jdbc.inTransaction(c -> Jdbc.update(c, "update tenant set request_id = ?, credential_id = ?, state_hash = ?, expires_at = ?,"
                        + " consent_status = 'pending', link_published = false, consent_error = null, consent_error_description = null,"
                        + " probe_email = null, attention_cause = null, updated_at = ? where tenant_id = ?",
                command.requestId(), link.credentialId(), link.stateHash(), link.expiresAt(), Instant.now(clock), command.tenantId()));
    }

    /** A command whose work is done elsewhere (reconcile): marked done. */
    public void commandDone(AdminCommand command) {
        jdbc.inTransaction(c -> {
            done(c, command);
            return null;
        });
    }

    /** The reconsent link is out: the command is done. */
    public void reconsentPublished(AdminCommand command) {
        jdbc.inTransaction(c -> {
            Jdbc.update(c, "update tenant set link_published = true where tenant_id = ? and request_id = ?", command.tenantId(), command.requestId());
            done(c, command);
            return null;
        });
    }

    // ---- deletions (grant work with action "delete") -----------------------------------------

    /** Nylas deleted the grant (or had no such grant any more): {@code grant.deleted}, once. */
    public void recordDeleted(GrantWork work) {
        jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            GrantQueue.done(c, work);
            int won = Jdbc.update(c, "update mailbox set grant_state = 'deleted', deleted_by = ?, error_type = null, error_message = null,"
                            + " http_status = null, updated_at = ? where tenant_id = ? and email = ? and grant_state = 'deleting' and grant_id = ?",
                    work.requestId(), now, work.tenantId(), work.email(), work.grantId());
            if (won == 1) {
                Outbox.add(c, now, events.grantDeleted(work.tenantId(), work.requestId(), work.credentialId(), work.email(), work.grantId(), "bridge"));
            }
            return null;
        });
    }

    /** Nylas would not delete the grant, even after retries: kept (still live), counted, and deleted by the next command. */
    public void recordDeleteFailure(GrantWork work, NylasError error) {
        jdbc.inTransaction(c -> {
            GrantQueue.done(c, work);
            return Jdbc.update(c, "update mailbox set grant_state = 'delete_failed', error_type = ?, error_message = ?, http_status = ?,"
                            + " nylas_request_id = ?, updated_at = ? where tenant_id = ? and email = ? and grant_state = 'deleting' and grant_id = ?",
                    ConsentLedger.truncate(error.type(), 128), ConsentLedger.truncate(error.message(), 2048), error.httpStatus(),
                    ConsentLedger.truncate(error.requestId(), 128), Instant.now(clock), work.tenantId(), work.email(), work.grantId());
        });
    }

    /** Offboardings with nothing left being deleted: their credential can go and their result be told. */
    public List<FinishedOffboarding> finishedOffboardings(int max) {
        return jdbc.inTransaction(c -> {
            List<FinishedOffboarding> finished = new ArrayList<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select t.tenant_id, t.offboard_request_id, t.credential_id,"
                    + " (select count(*) from mailbox m where m.tenant_id = t.tenant_id and m.grant_state = 'deleted' and m.deleted_by = t.offboard_request_id),"
                    + " (select count(*) from mailbox m where m.tenant_id = t.tenant_id and m.grant_state = 'delete_failed')"
                    + " from tenant t where t.consent_status = 'offboarding' and t.offboard_request_id is not null"
                    + " and not exists (select 1 from mailbox m where m.tenant_id = t.tenant_id and m.grant_state = 'deleting')"
                    + " order by t.updated_at limit ?", max);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    finished.add(new FinishedOffboarding(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5)));
                }
            }
            return finished;
        });
    }

    /**
     * Ends an offboarding once: {@code tenant.offboarded} with the counts. With every grant gone
     * (and the credential deleted by the caller) the tenant is offboarded; with grants left it
     * stays offboarding, and the command can be sent again to finish the job.
     */
    public void finishOffboarding(FinishedOffboarding finished) {
        jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            int won = Jdbc.update(c, "update tenant set consent_status = ?, offboard_request_id = null, updated_at = ?"
                            + " where tenant_id = ? and consent_status = 'offboarding' and offboard_request_id = ?",
                    finished.failed() == 0 ? "offboarded" : "offboarding", now, finished.tenantId(), finished.requestId());
            if (won == 1) {
                Outbox.add(c, now, events.tenantOffboarded(finished.tenantId(), finished.requestId(), finished.credentialId(),
                        finished.deleted(), finished.failed()));
            }
            return null;
        });
    }

    // ---- secret expiry forecast ------------------------------------------------------------

    /**
     * {@code credential.secret_expiring} for every tenant whose secret's known expiry is nearer
     * than the warning window, once per tenant and expiry (whichever instance wins the update).
     *
     * @return how many were published
     */
    public int warnExpiringSecrets() {
        return jdbc.inTransaction(c -> {
            Instant now = Instant.now(clock);
            List<String> due = new ArrayList<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id from tenant where client_secret_expires_at is not null"
                    + " and client_secret_expires_at <= ? and (secret_warned_for is null or secret_warned_for <> client_secret_expires_at)"
                    + " and credential_id is not null and consent_status not in ('offboarding', 'offboarded')", now.plus(secretExpiryWarning));
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    due.add(rs.getString(1));
                }
            }
            int warned = 0;
            for (String tenantId : due) {
                warned += warnIfExpiring(c, tenantId, null, now);
            }
            return warned;
        });
    }

    /** The same check for one tenant, when its expiry has just become known (onboarding). */
    public int warnIfExpiring(String tenantId, String requestId) {
        return jdbc.inTransaction(c -> warnIfExpiring(c, tenantId, requestId, Instant.now(clock)));
    }

    private int warnIfExpiring(Connection c, String tenantId, String requestId, Instant now) throws SQLException {
        String credentialId;
        Instant expiresAt;
        try (PreparedStatement s = Jdbc.prepare(c, "select credential_id, client_secret_expires_at from tenant where tenant_id = ?"
                + " and client_secret_expires_at is not null and client_secret_expires_at <= ?"
                + " and (secret_warned_for is null or secret_warned_for <> client_secret_expires_at)"
                + " and credential_id is not null and consent_status not in ('offboarding', 'offboarded')", tenantId, now.plus(secretExpiryWarning));
             ResultSet rs = s.executeQuery()) {
            if (!rs.next()) {
                return 0;
            }
            credentialId = rs.getString(1);
            expiresAt = Jdbc.instant(rs.getObject(2));
        }
        int won = Jdbc.update(c, "update tenant set secret_warned_for = client_secret_expires_at where tenant_id = ?"
                + " and client_secret_expires_at = ? and (secret_warned_for is null or secret_warned_for <> client_secret_expires_at)", tenantId, expiresAt);
        if (won == 1) {
            Outbox.add(c, now, events.secretExpiring(tenantId, requestId, credentialId, expiresAt));
        }
        return won;
    }

    // ---- helpers ---------------------------------------------------------------------------

    private static void done(Connection c, AdminCommand command) throws SQLException {
        Jdbc.update(c, "update admin_command set done = true where request_id = ?", command.requestId());
    }

    private static String credentialOf(Connection c, String tenantId) throws SQLException {
        try (PreparedStatement s = Jdbc.prepare(c, "select credential_id from tenant where tenant_id = ?", tenantId);
             ResultSet rs = s.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private static String statusOf(Connection c, String tenantId) throws SQLException {
        try (PreparedStatement s = Jdbc.prepare(c, "select consent_status from tenant where tenant_id = ?", tenantId);
             ResultSet rs = s.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
