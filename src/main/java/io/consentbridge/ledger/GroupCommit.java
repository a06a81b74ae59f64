package io.consentbridge.ledger;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Many small transactions committed as one. Each caller's work runs in a transaction shared with
 * whatever else is waiting, on one of a few writer threads; the caller gets its answer only after
 * that transaction has committed, so what it was told is durable. One commit
 * (one write to disk, which H2 serialises) then serves a whole burst of consent callbacks instead
 * of one each: measured with 200 callbacks at once, the per-commit disk write was most of the time
 * above the HTTP floor. Without a linger a lone caller waits no longer than before: the writer
 * starts at once. With one, the writer waits that long for company before it commits: for the
 * grant workers, whose outcomes arrive one by one, each a few pages H2 rewrites on every commit.
 * Pieces of one {@link Joint} kind in a group run together, in a few statements for all of them
 * (the consent callbacks: on PostgreSQL each statement is a round trip the whole group waits for).
 */
final class GroupCommit extends Jdbc implements AutoCloseable {
    private record Pending(Work<?> work, CompletableFuture<Object> answer) {
    }

    private final BlockingQueue<Pending> waiting = new LinkedBlockingQueue<>();
    private final int maxBatch;
    private final long lingerNanos;
    private final List<Thread> writers = new ArrayList<>();
    private volatile boolean closed;

    /**
     * @param writers how many transactions may be open at once (PostgreSQL runs them in parallel;
     *                H2 serialises the commits, where fewer, larger groups are what helps)
     */
    GroupCommit(DataSource dataSource, String name, int writers, int maxBatch) {
        this(dataSource, name, writers, maxBatch, java.time.Duration.ZERO);
    }

    /** @param linger how long a writer waits for more work to share a commit with, once it has some */
    GroupCommit(DataSource dataSource, String name, int writers, int maxBatch, java.time.Duration linger) {
        super(dataSource);
        this.maxBatch = maxBatch;
        this.lingerNanos = linger.toNanos();
        for (int i = 1; i <= writers; i++) {
            Thread writer = new Thread(this::write, name + "-" + i);
            writer.setDaemon(true);
            this.writers.add(writer);
            writer.start();
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    <T> T inTransaction(Work<T> work) {
        CompletableFuture<Object> answer = new CompletableFuture<>();
        if (closed) {
            throw new LedgerUnavailableException(new SQLException("the ledger is closing"));
        }
        Pending pending = new Pending(work, answer);
        waiting.add(pending);
        // Closed in between: the writers may have gone, so nobody would answer.
        if (closed && waiting.remove(pending)) {
            throw new LedgerUnavailableException(new SQLException("the ledger is closing"));
        }
        try {
            return (T) answer.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LedgerUnavailableException(new SQLException("interrupted while the ledger was committing"));
        }
    }

    private void write() {
        List<Pending> batch = new ArrayList<>(maxBatch);
        while (!closed) {
            Pending first;
            try {
                // Never interrupted while it writes: H2 closes its file when an I/O thread is interrupted.
                first = waiting.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (first == null) {
                continue;
            }
            batch.add(first);
            waiting.drainTo(batch, maxBatch - 1);
            long until = System.nanoTime() + lingerNanos;
            try {
                long left;
                while (batch.size() < maxBatch && (left = until - System.nanoTime()) > 0) {
                    Pending more = waiting.poll(left, TimeUnit.NANOSECONDS);
                    if (more == null) {
                        break;
                    }
                    batch.add(more);
                    waiting.drainTo(batch, maxBatch - batch.size());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            commit(batch);
            batch.clear();
        }
        Pending left;
        while ((left = waiting.poll()) != null) {
            left.answer().completeExceptionally(new LedgerUnavailableException(new SQLException("the ledger is closing")));
        }
    }

    /**
     * One transaction for the batch. Should any piece fail, the batch is rolled back and each piece
     * runs again in a transaction of its own, so one caller's failure is never another's.
     */
    private void commit(List<Pending> batch) {
        Object[] results = new Object[batch.size()];
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
                run(connection, batch, results);
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
        } catch (SQLException | RuntimeException e) {
            for (Pending alone : batch) {
                try {
                    alone.answer().complete(super.inTransaction(alone.work()));
                } catch (RuntimeException failure) {
                    alone.answer().completeExceptionally(failure);
                }
            }
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).answer().complete(results[i]);
        }
    }

    /**
     * Each piece in order, except that the pieces of one {@link Joint} kind all run where the first of
     * them is, together.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void run(Connection connection, List<Pending> batch, Object[] results) throws SQLException {
        boolean[] done = new boolean[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            if (done[i]) {
                continue;
            }
            Work<?> work = batch.get(i).work();
            if (!(work instanceof Joint<?> first)) {
                results[i] = work.run(connection);
                continue;
            }
            List<Integer> at = new ArrayList<>();
            List<Joint> pieces = new ArrayList<>();
            for (int j = i; j < batch.size(); j++) {
                if (!done[j] && batch.get(j).work().getClass() == first.getClass()) {
                    at.add(j);
                    pieces.add((Joint) batch.get(j).work());
                    done[j] = true;
                }
            }
            List<?> answers = first.runJointly(connection, (List) pieces);
            for (int k = 0; k < at.size(); k++) {
                results[at.get(k)] = answers.get(k);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread writer : writers) {
            try {
                writer.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
