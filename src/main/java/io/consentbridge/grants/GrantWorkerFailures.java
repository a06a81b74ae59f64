package io.consentbridge.grants;

import org.apache.camel.Exchange;
import org.apache.camel.spi.ExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.RejectedExecutionException;

/**
 * What the grant workers' consumer logs of work that ended in a failure no route handled. A graceful
 * stop ends the retries of work waiting out a Nylas back-off (the {@code grantRetry} policy): Camel
 * ends those exchanges with a {@link RejectedExecutionException}. That is expected, and the work stays
 * in the ledger, so it gets one line without a stack trace. Anything else is logged as Camel would.
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
        if (exception instanceof RejectedExecutionException && exchange != null && exchange.getContext().isStopping()) {
            GrantWork work = exchange.getProperty("work", GrantWork.class);
            LOG.info("Grant work of tenant {} left in the ledger as the bridge stops: its next attempt was not made ({})",
                    work == null ? "?" : work.tenantId(), exception.getMessage());
            return;
        }
        LOG.warn("{}{}", message == null ? "Grant work failed" : message, exchange == null ? "" : " " + exchange, exception);
    }
}
