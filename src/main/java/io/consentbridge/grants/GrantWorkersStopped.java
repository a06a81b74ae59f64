package io.consentbridge.grants;

import io.consentbridge.ledger.GrantQueue;
import org.apache.camel.Route;
import org.apache.camel.support.RoutePolicySupport;

/**
 * The grant workers' route policy: when the route stops (its file reloaded, or the bridge stopping),
 * after its last call has finished and its queue has been dropped, the work it held goes back to the
 * ledger's queue ({@link GrantQueue#workersStopped}) to be claimed again.
 */
public class GrantWorkersStopped extends RoutePolicySupport {
    private final GrantQueue queue;

    public GrantWorkersStopped(GrantQueue queue) {
        this.queue = queue;
    }

    @Override
    public void onStop(Route route) {
        queue.workersStopped();
    }
}
