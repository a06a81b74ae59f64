package io.consentbridge.ledger;

import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
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
import java.util.function.IntFunction;

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
        List<CompletableFuture<Boolean>> answers = atOnce(callers, 64, id -> {
            int inserted = group.inTransaction(c -> Jdbc.update(c, "insert into consent (id, note) values (?, ?)", id, "n" + id));
            // Answered: the row is visible to anyone else, i.e. committed.
            return inserted == 1 && countOnAnotherConnection("select count(*) from consent where id = " + id) == 1;
        });
        for (CompletableFuture<Boolean> answer : answers) {
            assertThat(answer.get()).isTrue();
        }
        assertThat(countOnAnotherConnection("select count(*) from consent")).isEqualTo(callers);
    }

    @Test
    void aFailingPieceFailsAloneAndTheOthersAreKept() {
        group = new GroupCommit(dataSource, "test-group", 1, 50);
        // Every tenth one writes a value too long for its column (SQLState 22: a data error).
        List<CompletableFuture<Integer>> answers = atOnce(100, 32, id -> group.inTransaction(c ->
                Jdbc.update(c, "insert into consent (id, note) values (?, ?)", id, id % 10 == 0 ? "far too long a note" : "ok")));
        int failed = 0;
        for (int i = 0; i < answers.size(); i++) {
            CompletableFuture<Integer> answer = answers.get(i);
            if (i % 10 == 0) {
                assertThatThrownBy(answer::join).hasCauseInstanceOf(LedgerDataException.class);
                failed++;
            } else {
                assertThat(answer.join()).isEqualTo(1);
            }
        }
        assertThat(failed).isEqualTo(10);
        assertThat(countOnAnotherConnection("select count(*) from consent")).isEqualTo(90);
    }

    /** Inserts its row in one batch with the other inserts of its group; notes how many ran together. */
    record JointInsert(int id, List<Integer> groupSizes) implements Jdbc.Joint<Integer> {
        @Override
        public List<Integer> runJointly(Connection c, List<Jdbc.Joint<Integer>> pieces) throws SQLException {
            groupSizes.add(pieces.size());
            try (PreparedStatement insert = c.prepareStatement("insert into consent (id, note) values (?, 'joint')")) {
                for (Jdbc.Joint<Integer> piece : pieces) {
                    insert.setInt(1, ((JointInsert) piece).id());
                    insert.addBatch();
                }
                int[] counts = insert.executeBatch();
                List<Integer> answers = new ArrayList<>();
                for (int i = 0; i < pieces.size(); i++) {
                    answers.add(((JointInsert) pieces.get(i)).id() * 10 + counts[i]);
                }
                return answers;
            }
        }
    }

    @Test
    void jointPiecesRunTogetherAndEachGetsItsOwnAnswerBesidePlainOnes() {
        group = new GroupCommit(dataSource, "test-group", 1, 100, java.time.Duration.ofMillis(300));
        List<Integer> groupSizes = java.util.Collections.synchronizedList(new ArrayList<>());
        // Every third one plain work, the others joint.
        List<CompletableFuture<Integer>> answers = atOnce(40, 40, id -> id % 3 == 0
                ? group.inTransaction(c -> Jdbc.update(c, "insert into consent (id, note) values (?, 'plain')", id) + id * 10)
                : group.inTransaction(new JointInsert(id, groupSizes)));
        for (int i = 0; i < answers.size(); i++) {
            assertThat(answers.get(i).join()).as("the answer of caller %d", i).isEqualTo(i * 10 + 1);
        }
        assertThat(countOnAnotherConnection("select count(*) from consent where note = 'joint'")).isEqualTo(26);
        assertThat(countOnAnotherConnection("select count(*) from consent where note = 'plain'")).isEqualTo(14);
        assertThat(groupSizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(26);
        assertThat(groupSizes).as("joint pieces that shared a group ran in one call").anyMatch(size -> size > 1);
    }

    @Test
    void aFailingJointGroupRunsEachPieceAloneSoOnlyTheBadOneFails() {
        group = new GroupCommit(dataSource, "test-group", 1, 100, java.time.Duration.ofMillis(300));
        List<Integer> groupSizes = java.util.Collections.synchronizedList(new ArrayList<>());
        // Two callers insert id 5: the second insert breaks the primary key, in a group or alone.
        List<CompletableFuture<Integer>> answers = atOnce(10, 10, i -> group.inTransaction(new JointInsert(i == 9 ? 5 : i, groupSizes)));
        int failed = 0;
        for (CompletableFuture<Integer> answer : answers) {
            try {
                answer.join();
            } catch (java.util.concurrent.CompletionException e) {
                assertThat(e.getCause()).isInstanceOf(LedgerUnavailableException.class);
                failed++;
            }
        }
        assertThat(failed).as("only one of the two inserts of id 5").isEqualTo(1);
        assertThat(countOnAnotherConnection("select count(*) from consent")).isEqualTo(9);
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

    /** {@code callers} calls of {@code call} (with the caller's number), on {@code threads} threads, let go at once. */
    static <T> List<CompletableFuture<T>> atOnce(int callers, int threads, IntFunction<T> call) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<T>> answers = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            int id = i;
            answers.add(CompletableFuture.supplyAsync(() -> {
                await(go);
                return call.apply(id);
            }, pool));
        }
        go.countDown();
        // The calls already given to the pool still run; its threads end with them.
        pool.shutdown();
        return answers;
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
