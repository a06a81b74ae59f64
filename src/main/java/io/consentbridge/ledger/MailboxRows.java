package io.consentbridge.ledger;

import io.consentbridge.grants.GrantWork;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Reads and moves mailbox rows inside a caller's transaction; shared by the ledger's parts. */
final class MailboxRows {
    private MailboxRows() {
    }

    /** Rows of (email, request_id, grant_id, grant_state) in the given grant states, by email. */
    static List<String[]> in(Connection c, String tenantId, String... states) throws SQLException {
        List<String[]> rows = new ArrayList<>();
        String marks = String.join(", ", java.util.Collections.nCopies(states.length, "?"));
        Object[] params = new Object[states.length + 1];
        params[0] = tenantId;
        System.arraycopy(states, 0, params, 1, states.length);
        try (PreparedStatement s = Jdbc.prepare(c, "select email, request_id, grant_id, grant_state from mailbox where tenant_id = ? and grant_state in ("
                + marks + ") order by email", params);
             ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                rows.add(new String[]{rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)});
            }
        }
        return rows;
    }

    /**
     * Marks mailboxes queued and queues one piece of grant work per mailbox: a first grant, or a
     * restore of an expired one.
     */
    static void queue(Connection c, String tenantId, String credentialId, List<String[]> mailboxes,
                      boolean restore, Instant now) throws SQLException {
        if (mailboxes.isEmpty()) {
            return;
        }
        try (PreparedStatement mark = c.prepareStatement("update mailbox set grant_state = 'queued', updated_at = ? where tenant_id = ? and email = ?");
             PreparedStatement work = GrantQueue.batch(c)) {
            int position = 0;
            for (String[] mailbox : mailboxes) {
                Jdbc.bind(mark, now, tenantId, mailbox[0]);
                mark.addBatch();
                GrantQueue.bind(work, tenantId, mailbox[0], restore ? GrantWork.RESTORE : GrantWork.GRANT, mailbox[1], credentialId, null,
                        position++, now);
            }
            mark.executeBatch();
            work.executeBatch();
        }
    }

    /**
     * Marks mailboxes that have a grant at Nylas {@code deleting} and queues one delete per grant,
     * on behalf of {@code requestId} (the command). Mailboxes without a grant are simply deleted.
     *
     * @return how many deletions were queued
     */
    static int delete(Connection c, String tenantId, String requestId, String credentialId,
                      List<String[]> mailboxes, Instant now) throws SQLException {
        int queued = 0;
        try (PreparedStatement deleting = c.prepareStatement("update mailbox set grant_state = 'deleting', error_type = null,"
                + " error_message = null, http_status = null, updated_at = ? where tenant_id = ? and email = ?");
             PreparedStatement gone = c.prepareStatement("update mailbox set grant_state = 'deleted', updated_at = ? where tenant_id = ? and email = ?");
             PreparedStatement waiters = c.prepareStatement("delete from mailbox_waiter where tenant_id = ? and email = ?");
             PreparedStatement work = GrantQueue.batch(c)) {
            for (String[] mailbox : mailboxes) {
                if (mailbox[2] != null) {
                    Jdbc.bind(deleting, now, tenantId, mailbox[0]);
                    deleting.addBatch();
                    GrantQueue.bind(work, tenantId, mailbox[0], GrantWork.DELETE, requestId, credentialId, mailbox[2], queued, now);
                    queued++;
                } else {
                    Jdbc.bind(gone, now, tenantId, mailbox[0]);
                    gone.addBatch();
                }
                Jdbc.bind(waiters, tenantId, mailbox[0]);
                waiters.addBatch();
            }
            deleting.executeBatch();
            gone.executeBatch();
            waiters.executeBatch();
            work.executeBatch();
        }
        return queued;
    }
}
