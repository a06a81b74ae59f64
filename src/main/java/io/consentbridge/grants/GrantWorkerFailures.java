package io.consentbridge.grants;

import org.apache.camel.Exchange;
import org.apache.camel.spi.ExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the grant workers' consumer logs of work that ended in a failure no route handled. Such work has
 * no outcome recorded, so it stays in the ledger and is claimed again. While the bridge stops that is
 * expected: a stop ends the retries of work waiting out a Nylas back-off (the {@code nylasRetry}
 * policy; Camel ends those exchanges with a {@link java.util.concurrent.RejectedExecutionException}, or
 * with the last failure when the attempt in flight failed), so each gets one line without a stack
 * trace. Otherwise the failure is logged with its stack trace.
 */
public class GrantWorkerFailures implements ExceptionHandler {
    private static final Logger LOG = LoggerFactory.getLogger(GrantWorkerFailures.class);

    @Override
    public void handleException(Throwable exception) {
        handleException(null, null, exception);
    }

    @Override
    public void handleException(String message, Throwable exception) {
        handleException(message, null, exception);
    }

    @Override
    public void handleException(String message, Exchange exchange, Throwable exception) {
        if (exchange != null && exchange.getContext().isStopping()) {
            GrantWork work = exchange.getProperty("work", GrantWork.class);
            LOG.info("Grant work of tenant {} left in the ledger as the bridge stops: {}: {}",
                    work == null ? "?" : work.tenantId(), exception.getClass().getSimpleName(), exception.getMessage());
            return;
        }
        LOG.warn("{}{}", message == null ? "Grant work failed" : message, exchange == null ? "" : " " + exchange, exception);
    }
}
