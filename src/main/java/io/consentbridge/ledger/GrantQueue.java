package io.consentbridge.ledger;

import io.consentbridge.grants.GrantWork;
import org.apache.camel.Exchange;
import org.apache.camel.support.SynchronizationAdapter;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Grant work waiting in the ledger (table {@code grant_work}): queued in the transaction that
 * decides it, removed in the transaction that records its outcome, so no work is lost and none is
 * done twice except a call in flight when its instance died.
 * <p>
 * Each instance claims what its workers can take ({@code capacity}: the workers' and as many again
 * waiting for one). A claim names the instance; an instance that is no longer alive (no longer a
 * {@code rate_member}, {@link InstanceHeartbeat}) leaves its claims free for the others, and this
 * instance takes back its own claims whose work ended without an outcome (the ledger was away).
 * Work is claimed by its place in the batch that queued it, so tenants interleave.
 */
public class GrantQueue {
    private static final String INSERT = "insert into grant_work (tenant_id, email, action, request_id, credential_id, grant_id,"
            + " queue_position, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)";

    private final Jdbc jdbc;
    private final String instanceId;
    private final int capacity;
    /** Work this instance holds now: handed to a worker or waiting for one. */
    private final Set<Long> held = ConcurrentHashMap.newKeySet();
    /** Whether the last claim found work to do, or the workers had some in hand. */
    private volatile boolean busy = true;

    public GrantQueue(DataSource dataSource, String instanceId, int capacity) {
        this.jdbc = new Jdbc(dataSource);
        this.instanceId = instanceId;
        this.capacity = capacity;
    }

    /** Several pieces of work inside the caller's transaction: {@link #bind} each, then {@code executeBatch}. */
    static PreparedStatement batch(Connection c) throws SQLException {
        return c.prepareStatement(INSERT);
    }

    static void bind(PreparedStatement batch, String tenantId, String email, String action, String requestId, String credentialId,
                     String grantId, int position, Instant now) throws SQLException {
        Jdbc.bind(batch, tenantId, email, action, requestId, credentialId, grantId, position, now);
        batch.addBatch();
    }

    /** One piece of work inside the caller's transaction. */
    static void add(Connection c, String tenantId, String email, String action, String requestId, String credentialId,
                    String grantId, Instant now) throws SQLException {
        Jdbc.update(c, INSERT, tenantId, email, action, requestId, credentialId, grantId, 0, now);
    }

    private static final String DONE = "delete from grant_work where id = ?";

    /** The work is done: removed inside the transaction that records its outcome. */
    static void done(Connection c, GrantWork work) throws SQLException {
        Jdbc.update(c, DONE, work.id());
    }

    /** Several pieces of work done (or with nothing left to do), by their ids: removed in one batch. */
    static void done(Connection c, Collection<Long> ids) throws SQLException {
        try (PreparedStatement delete = c.prepareStatement(DONE)) {
            for (long id : ids) {
                delete.setLong(1, id);
                delete.addBatch();
            }
            delete.executeBatch();
        }
    }

    /**
     * Claims as much work as this instance has room for, first in queue order. Work that has
     * nothing left to do (its mailbox was removed, its tenant offboarded or given another
     * credential since) is removed instead, without a Nylas call.
     */
    public List<GrantWork> claim() {
        int room = capacity - held.size();
        // Not for every piece of work finished: a claim is a transaction that writes (and on H2 a
        // commit that rewrites pages), so it waits until a quarter of the room is free, while the
        // workers still have the other pieces held for them (GrantCostBenchmark: claims every 100 ms
        // of ~4 pieces each were 6 % of the CPU of a fan-out).
        if (room < Math.max(1, capacity / 4)) {
            busy = true;
            return List.of();
        }
        List<Long> stale = new ArrayList<>();
        List<GrantWork> claimed = jdbc.inTransaction(c -> {
            stale.clear();
            List<GrantWork> live = new ArrayList<>();
            List<String> liveOwners = new ArrayList<>();
            // Only an instance the others know is alive claims, so they leave its claims alone. Each
            // row comes with its mailbox and tenant as they are now, to tell whether it is still to do.
            try (PreparedStatement s = Jdbc.prepare(c, "select w.id, w.tenant_id, w.request_id, w.email, w.credential_id, w.action, w.grant_id,"
                            + " w.claimed_by, m.grant_state, m.grant_id, t.consent_status, t.credential_id"
                            + " from grant_work w left join mailbox m on m.tenant_id = w.tenant_id and m.email = w.email"
                            + " left join tenant t on t.tenant_id = w.tenant_id"
                            + " where exists (select 1 from rate_member where instance_id = ?)"
                            + " and (w.claimed_by is null or w.claimed_by = ? or w.claimed_by not in (select instance_id from rate_member))"
                            + " order by w.queue_position, w.id limit ?",
                    instanceId, instanceId, room + held.size());
                 ResultSet rs = s.executeQuery()) {
                while (rs.next() && live.size() + stale.size() < room) {
                    GrantWork work = new GrantWork(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), rs.getString(6), rs.getString(7));
                    if (held.contains(work.id())) {
                        continue;
                    }
                    if (stillToDo(work, rs.getString(9), rs.getString(10), rs.getString(11), rs.getString(12))) {
                        live.add(work);
                        liveOwners.add(rs.getString(8));
                    } else {
                        stale.add(work.id());
                    }
                }
            }
            if (!stale.isEmpty()) {
                done(c, stale);
            }
            if (live.isEmpty()) {
                return live;
            }
            // Each row on condition that its claim is still the one read: a row another instance
            // claimed in between is left to it.
            int[] won;
            try (PreparedStatement claim = c.prepareStatement("update grant_work set claimed_by = ? where id = ? and coalesce(claimed_by, '') = ?")) {
                for (int i = 0; i < live.size(); i++) {
                    Jdbc.bind(claim, instanceId, live.get(i).id(), Objects.requireNonNullElse(liveOwners.get(i), ""));
                    claim.addBatch();
                }
                won = claim.executeBatch();
            }
            List<GrantWork> mine = new ArrayList<>(live.size());
            for (int i = 0; i < live.size(); i++) {
                if (won[i] > 0 || won[i] == Statement.SUCCESS_NO_INFO) {
                    mine.add(live.get(i));
                }
            }
            return mine;
        });
        claimed.forEach(work -> held.add(work.id()));
        busy = !held.isEmpty() || !stale.isEmpty();
        return claimed;
    }

    /**
     * False when the last claim found nothing to do and no work is in hand: the claims may look less
     * often until there is (the {@code grant-claims} route's scheduler skips rounds).
     */
    public boolean isBusy() {
        return busy;
    }

    /** The worker is done with this work, whatever came of it; work without a recorded outcome is claimed again. */
    public void finished(GrantWork work) {
        if (work != null) {
            held.remove(work.id());
        }
    }

    /**
     * The grant workers' route has stopped (its file reloaded, or the bridge stopping): its calls are
     * finished and the work still waiting for a worker was dropped with its queue. All of it is handed
     * back, so the next claim takes it again; held, it would stay claimed by this live instance, taken
     * by no one.
     */
    public void workersStopped() {
        held.clear();
    }

    /**
     * Hands the exchange's work (its body) back with {@link #finished} when the exchange is done, whatever
     * came of it: the route's outcome recorded, a failure handled, or one left unhandled (the ledger
     * away). A synchronization of the exchange itself: the route configuration's {@code onCompletion}
     * says the same, but copies the exchange and runs a route of its own for every grant
     * (GrantCostBenchmark: 6 % of the grant workers' CPU).
     */
    public void handBackWhenDone(Exchange exchange) {
        GrantWork work = exchange.getMessage().getBody(GrantWork.class);
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                finished(work);
            }
        });
    }

    /** Work waiting in the ledger, claimed or not, across all instances. */
    public long waiting() {
        return jdbc.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("select count(*) from grant_work"); ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    /**
     * Whether the mailbox still wants this call, by its mailbox's grant state and grant id and its tenant's
     * consent status and credential as read with the work (null when the mailbox or tenant is gone): a
     * grant or restore only for a mailbox still queued, of a tenant that has consented, with the credential
     * the work names; a deletion only for the grant the mailbox is still deleting.
     */
    private static boolean stillToDo(GrantWork work, String grantState, String grantId, String consentStatus, String credentialId) {
        if (work.isDelete()) {
            return "deleting".equals(grantState) && Objects.equals(work.grantId(), grantId);
        }
        return "queued".equals(grantState) && "granted".equals(consentStatus) && Objects.equals(work.credentialId(), credentialId);
    }
}
