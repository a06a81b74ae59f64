package io.consentbridge.nylas;

/** 400, 401, 403, 404, 423 and other 4xx: repeating the same call cannot help. */
public class NylasRejectedException extends NylasCallException {
    public NylasRejectedException(NylasError error) {
        super(error);
    }
}
