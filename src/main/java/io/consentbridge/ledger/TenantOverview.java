package io.consentbridge.ledger;

import javax.sql.DataSource;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The operator page's reads that the status endpoint has no query for: the mailbox counts of a
 * page of tenants in one query, and the tenants waiting for an operator's action (attention_cause).
 */
public class TenantOverview {
    private final Jdbc jdbc;

    public TenantOverview(DataSource dataSource) {
        this.jdbc = new Jdbc(dataSource);
    }

    /** A tenant an operator has been told of ({@code tenant.attention_needed}), until the action that fixes it. */
    public record Attention(String tenantId, String cause, String consentStatus, String credentialId, long expiredMailboxes, Instant since) {
    }

    /** Per tenant id given, its mailboxes counted as the status endpoint counts them (granted, failed, pending, expired, deleted). */
    public Map<String, Map<String, Long>> mailboxCounts(List<String> tenantIds) {
        Map<String, Map<String, Long>> counts = new LinkedHashMap<>();
        for (String tenantId : tenantIds) {
            counts.put(tenantId, ConsentLedger.emptyBuckets());
        }
        if (tenantIds.isEmpty()) {
            return counts;
        }
        String marks = Jdbc.marks(tenantIds.size());
        return jdbc.inTransaction(c -> {
            try (PreparedStatement s = Jdbc.prepare(c, "select tenant_id, grant_state, count(*) from mailbox where tenant_id in (" + marks + ")"
                    + " group by tenant_id, grant_state", tenantIds.toArray());
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    counts.get(rs.getString(1)).merge(ConsentLedger.statusBucket(rs.getString(2)), rs.getLong(3), Long::sum);
                }
            }
            return counts;
        });
    }

    /** The tenants that need an operator, longest waiting first, at most {@code max}. */
    public List<Attention> needingAttention(int max) {
        return jdbc.inTransaction(c -> {
            List<Attention> found = new ArrayList<>();
            try (PreparedStatement s = Jdbc.prepare(c, "select t.tenant_id, t.attention_cause, t.consent_status, t.credential_id, t.updated_at,"
                    + " (select count(*) from mailbox m where m.tenant_id = t.tenant_id and m.grant_state = 'expired')"
                    + " from tenant t where t.attention_cause is not null order by t.updated_at, t.tenant_id limit ?", max);
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    found.add(new Attention(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getLong(6),
                            Jdbc.instant(rs.getObject(5))));
                }
            }
            return found;
        });
    }

    /** How many tenants need an operator in all. */
    public long attentionCount() {
        return jdbc.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("select count(*) from tenant where attention_cause is not null");
                 ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
