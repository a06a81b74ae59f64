package io.consentbridge.ops;

import org.slf4j.MDC;

/**
 * The logging context of the record being handled: {@code tenant_id} and {@code request_id} on
 * every line logged while it is (the JSON layout writes them as fields, the text layout in
 * brackets). A consumer thread handles one record at a time, so each record sets both afresh.
 */
public final class LogContext {
    public static final String TENANT_ID = "tenant_id";
    public static final String REQUEST_ID = "request_id";

    /** What a log line can be about: a tenant and the request it came with. */
    public interface Subject {
        String tenantId();

        String requestId();
    }

    /**
     * Sets both from what the body is about (a route step {@code bean: ... method: about}: Camel binds
     * the body, without an expression to evaluate for each argument).
     */
    public static void about(Subject subject) {
        of(subject.tenantId(), subject.requestId());
    }

    /** Sets both; null leaves a key out. */
    public static void of(String tenantId, String requestId) {
        put(TENANT_ID, tenantId);
        put(REQUEST_ID, requestId);
    }

    private static void put(String key, String value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value.length() > 128 ? value.substring(0, 128) : value);
        }
    }
}
