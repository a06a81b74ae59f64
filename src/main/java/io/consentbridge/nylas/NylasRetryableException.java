package io.consentbridge.nylas;

/** 429, 5xx: the same call may succeed later. */
public class NylasRetryableException extends NylasCallException {
    public NylasRetryableException(NylasError error) {
        super(error);
    }
}
