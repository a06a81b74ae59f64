package io.consentbridge.nylas;

/** A Nylas call that did not succeed. Subclasses say whether trying again can help. */
public abstract class NylasCallException extends RuntimeException {
    private final NylasError error;

    protected NylasCallException(NylasError error) {
        super("Nylas answered " + error.httpStatus() + " " + error.type() + ": " + error.message()
                + (error.requestId() == null ? "" : " (request_id " + error.requestId() + ")"));
        this.error = error;
    }

    public NylasError error() {
        return error;
    }
}
