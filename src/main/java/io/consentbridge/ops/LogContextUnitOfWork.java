package io.consentbridge.ops;

import org.apache.camel.AsyncCallback;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.impl.engine.DefaultUnitOfWork;
import org.apache.camel.impl.engine.MDCUnitOfWork;
import org.apache.camel.spi.InflightRepository;
import org.apache.camel.spi.UnitOfWork;
import org.apache.camel.spi.UnitOfWorkFactory;
import org.slf4j.MDC;

import java.util.Objects;

/**
 * Keeps a record's {@link LogContext} ({@code tenant_id}, {@code request_id}) on its log lines when
 * its exchange goes on in another thread (a Kafka producer's callback, a retry): what Camel's MDC
 * logging ({@code camel.main.use-mdc-logging}) does for these two keys, without the rest of it.
 * Camel's puts six keys of its own into the MDC before every step of every exchange and takes them
 * out after, and copies the whole MDC map for every step, though no log layout of the bridge writes
 * any of them (GrantCostBenchmark: 4.8 % of a fan-out's CPU samples; 0.4 % with this). Here a step
 * only reads the two keys, and writes them back only in another thread than the one it started in.
 */
public final class LogContextUnitOfWork extends DefaultUnitOfWork {

    LogContextUnitOfWork(Exchange exchange, InflightRepository inflight, boolean allowUseOriginalMessage, boolean useBreadcrumb) {
        super(exchange, inflight, allowUseOriginalMessage, useBreadcrumb);
    }

    @Override
    public boolean isBeforeAfterProcess() {
        return true;
    }

    @Override
    public AsyncCallback beforeProcess(Processor processor, Exchange exchange, AsyncCallback callback) {
        String tenantId = MDC.get(LogContext.TENANT_ID);
        String requestId = MDC.get(LogContext.REQUEST_ID);
        if (tenantId == null && requestId == null) {
            return callback;
        }
        Thread started = Thread.currentThread();
        return doneSync -> {
            // Camel also says "not done synchronously" for a step that ended in the same thread, by way of its
            // reactive queue: there the context is what the step left (a step may set it, LogContext.about).
            if (!doneSync && Thread.currentThread() != started) {
                // Finished in another thread: the lines logged there from here on are about this record.
                LogContext.of(tenantId, requestId);
            }
            callback.done(doneSync);
        };
    }

    @Override
    public void afterProcess(Processor processor, Exchange exchange, AsyncCallback callback, boolean doneSync) {
        // nothing to undo: the two keys stay until the thread's next record sets its own
    }

    /**
     * Camel's unit-of-work factory for the bridge: {@link LogContextUnitOfWork} for every exchange, or
     * Camel's own MDC unit of work where {@code camel.main.use-mdc-logging = true} asks for Camel's keys
     * ({@code camel.routeId}, {@code camel.exchangeId}, ...) on log lines.
     */
    public static final class Factory implements UnitOfWorkFactory {
        private InflightRepository inflight;
        private boolean allowUseOriginalMessage;
        private boolean useBreadcrumb;
        private boolean camelKeys;
        private String camelKeysPattern;

        @Override
        public UnitOfWork createUnitOfWork(Exchange exchange) {
            if (camelKeys) {
                return new MDCUnitOfWork(exchange, inflight, camelKeysPattern, allowUseOriginalMessage, useBreadcrumb);
            }
            return new LogContextUnitOfWork(exchange, inflight, allowUseOriginalMessage, useBreadcrumb);
        }

        /** Called by Camel for every route it builds, once the context's settings are read. */
        @Override
        public void afterPropertiesConfigured(CamelContext context) {
            inflight = context.getInflightRepository();
            allowUseOriginalMessage = context.isAllowUseOriginalMessage();
            useBreadcrumb = context.isUseBreadcrumb();
            camelKeys = Boolean.TRUE.equals(context.isUseMDCLogging());
            // the record's two keys go along with Camel's unless camel.main.mdc-logging-keys-pattern says otherwise
            camelKeysPattern = Objects.requireNonNullElse(context.getMDCLoggingKeysPattern(), "*");
        }
    }
}
