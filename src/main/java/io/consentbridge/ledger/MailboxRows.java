package io.consentbridge.ledger;

import io.consentbridge.grants.GrantWork;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads and moves mailbox rows inside a caller's transaction; shared by the ledger's parts. */
final class MailboxRows {
    private MailboxRows() {
    }

    /** One tenant's {@link #inTenants}. */
    static List<String[]> in(Connection c, String tenantId, String... states) throws SQLException {
        return inTenants(c, List.of(tenantId), states).get(tenantId);
    }

    /**
     * Rows of (email, request_id, grant_id, grant_state) in the given grant states, by tenant and each
     * tenant's by email (every tenant asked for is there, with an empty list when it has none).
     */
    static Map<String, List<String[]>> inTenants(Connection c, Collection<String> tenantIds, String... states) throws SQLException {
        Map<String, List<String[]>> rows = new LinkedHashMap<>();
        tenantIds.forEach(tenantId -> rows.put(tenantId, new ArrayList<>()));
        if (tenantIds.isEmpty()) {
            return rows;
        }
        List<Object> params = new ArrayList<>(tenantIds);
        params.addAll(List.of(states));
        try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id, email, request_id, grant_id, grant_state from mailbox where tenant_id in ("
                + Jdbc.marks(tenantIds.size()) + ") and grant_state in (" + Jdbc.marks(states.length) + ") order by tenant_id, email", params.toArray());
             ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                rows.get(rs.getString(1)).add(new String[]{rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5)});
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
        try (Queueing queueing = new Queueing(c, now)) {
            queueing.add(tenantId, credentialId, mailboxes, restore);
            queueing.execute();
        }
    }

    /** Mailboxes of any number of tenants queued in two batches (see {@link #queue}). */
    static final class Queueing implements AutoCloseable {
        private final PreparedStatement mark;
        private final PreparedStatement work;
        private final Instant now;
        private boolean any;

        Queueing(Connection c, Instant now) throws SQLException {
            this.mark = c.prepareStatement("update mailbox set grant_state = 'queued', updated_at = ? where tenant_id = ? and email = ?");
            this.work = GrantQueue.batch(c);
            this.now = now;
        }

        void add(String tenantId, String credentialId, List<String[]> mailboxes, boolean restore) throws SQLException {
            int position = 0;
            for (String[] mailbox : mailboxes) {
                Jdbc.bind(mark, now, tenantId, mailbox[0]);
                mark.addBatch();
                GrantQueue.bind(work, tenantId, mailbox[0], restore ? GrantWork.RESTORE : GrantWork.GRANT, mailbox[1], credentialId, null,
                        position++, now);
                any = true;
            }
        }

        void execute() throws SQLException {
            if (any) {
                mark.executeBatch();
                work.executeBatch();
            }
        }

        @Override
        public void close() throws SQLException {
            try {
                mark.close();
            } finally {
                work.close();
            }
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
