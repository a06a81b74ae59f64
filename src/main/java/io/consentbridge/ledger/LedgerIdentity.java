package io.consentbridge.ledger;

import javax.sql.DataSource;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.UUID;

/** The ledger's own id: made once by whichever instance starts on the ledger first, then read by all. */
public final class LedgerIdentity {
    private LedgerIdentity() {
    }

    public static String of(DataSource dataSource) {
        return new Jdbc(dataSource).inTransaction(c -> {
            Jdbc.update(c, "insert into ledger_identity (singleton, ledger_id, created_at) values (1, ?, ?) on conflict do nothing",
                    UUID.randomUUID().toString(), Instant.now());
            try (PreparedStatement s = c.prepareStatement("select ledger_id from ledger_identity where singleton = 1");
                 ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        });
    }
}
