package io.consentbridge.webhooks;

/** A webhook request answered with an error status and a short plain-text reason; nothing is recorded. */
public class WebhookRefusal extends RuntimeException {
    private final int status;

    public WebhookRefusal(int status, String reason) {
        super(reason);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
