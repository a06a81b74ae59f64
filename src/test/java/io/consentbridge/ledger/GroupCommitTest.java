package io.consentbridge.ledger;

import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Group commit keeps each caller's transaction its own: its result, its failure, durable when answered. */
class GroupCommitTest {
    JdbcDataSource dataSource;
    GroupCommit group;

    @BeforeEach
    void open() throws SQLException {
        dataSource = new JdbcDataSource();
        dataSource.setURL("jdbc:h2:mem:group-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("create table consent (id int primary key, note varchar(10))");
        }
    }

    @AfterEach
    void close() {
        group.close();
    }

    @Test
    void everyCallerGetsItsOwnResultAndItIsCommittedBeforeTheAnswer() throws Exception {
        group = new GroupCommit(dataSource, "test-group", 2, 50);
        int callers = 400;
        ExecutorService pool = Executors.newFixedThreadPool(64);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Boolean>> answers = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            int id = i;
            answers.add(CompletableFuture.supplyAsync(() -> {
                await(go);
                int inserted = group.inTransaction(c -> Jdbc.update(c, "insert into consent (id, note) values (?, ?)", id, "n" + id));
                // Answered: the row is visible to anyone else, i.e. committed.
                return inserted == 1 && countOnAnotherConnection("select count(*) from consent where id = " + id) == 1;
            }, pool));
        }
        go.countDown();
        for (CompletableFuture<Boolean> answer : answers) {
            assertThat(answer.get()).isTrue();
        }
        pool.shutdown();
        assertThat(countOnAnotherConnection("select count(*) from consent")).isEqualTo(callers);
    }

    @Test
    void aFailingPieceFailsAloneAndTheOthersAreKept() {
        group = new GroupCommit(dataSource, "test-group", 1, 50);
        ExecutorService pool = Executors.newFixedThreadPool(32);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Object>> answers = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            int id = i;
            answers.add(CompletableFuture.supplyAsync(() -> {
                await(go);
                // Every tenth one writes a value too long for its column (SQLState 22: a data error).
                return group.inTransaction(c -> Jdbc.update(c, "insert into consent (id, note) values (?, ?)", id,
                        id % 10 == 0 ? "far too long a note" : "ok"));
            }, pool));
        }
        go.countDown();
        int failed = 0;
        for (int i = 0; i < answers.size(); i++) {
            CompletableFuture<Object> answer = answers.get(i);
            if (i % 10 == 0) {
                assertThatThrownBy(answer::join).hasCauseInstanceOf(LedgerDataException.class);
                failed++;
            } else {
                assertThat(answer.join()).isEqualTo(1);
            }
        }
        pool.shutdown();
        assertThat(failed).isEqualTo(10);
        assertThat(countOnAnotherConnection("select count(*) from consent")).isEqualTo(90);
    }

    @Test
    void aCallerAfterCloseIsToldTheLedgerIsUnavailable() {
        group = new GroupCommit(dataSource, "test-group", 1, 50);
        group.close();
        assertThatThrownBy(() -> group.inTransaction(c -> 1)).isInstanceOf(LedgerUnavailableException.class);
    }

    int countOnAnotherConnection(String sql) {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
