package io.consentbridge.nylas;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that decides why a re-authentication of an expired grant failed (contract §5,
 * reference §9): from Nylas's HTTP status and error type, with Microsoft's AADSTS code as the most
 * specific hint when Nylas passes one on (in {@code error.message} or {@code provider_error}; how
 * Nylas wraps it is not documented, so both are read, and no code means {@link #UNKNOWN} unless the
 * status alone says more). Microsoft asks not to branch on its prose, so only the code is read.
 */
public enum ExpiryCause {
    /** The tenant's admin consent is missing or was revoked: a {@code reconsent} fixes it, for every mailbox at once. */
    CONSENT_REVOKED("consent_revoked", "reconsent", true),
    /** The Azure app's client secret is wrong or expired: a {@code rotate_secret} fixes it, for every mailbox at once. */
    SECRET_INVALID("secret_invalid", "rotate_secret", true),
    /** Only this mailbox (no such user, not licensed): the others may still be restored. */
    MAILBOX("mailbox", null, false),
    /** Nylas or the network failing (429, 5xx, no answer): try again later, nothing is known about the tenant. */
    TRANSIENT("transient", null, false),
    /** None of the above: an operator has to look. */
    UNKNOWN("unknown", "investigate", true);

    /** AADSTS codes of reference §9 and what each means for the tenant. */
    static final Map<Integer, ExpiryCause> AADSTS = Map.of(
            65001, CONSENT_REVOKED,    // the user or administrator has not consented
            65004, CONSENT_REVOKED,    // the user declined to consent
            90094, CONSENT_REVOKED,    // the grant requires admin permission
            700016, CONSENT_REVOKED,   // the application was not found in the tenant (enterprise app removed)
            7000215, SECRET_INVALID,   // invalid client secret
            7000222, SECRET_INVALID,   // the client secret keys are expired
            50034, MAILBOX);           // the user account does not exist in the directory

    private static final Pattern CODE = Pattern.compile("AADSTS(\\d{4,8})");

    private final String cause;
    private final String action;
    private final boolean tenantWide;

    ExpiryCause(String cause, String action, boolean tenantWide) {
        this.cause = cause;
        this.action = action;
        this.tenantWide = tenantWide;
    }

    /** The {@code cause} of {@code tenant.attention_needed}. */
    public String cause() {
        return cause;
    }

    /** The {@code action} of {@code tenant.attention_needed}. */
    public String action() {
        return action;
    }

    /** True when the cause stops every mailbox of the tenant: no more calls are spent on the others. */
    public boolean tenantWide() {
        return tenantWide;
    }

    public static ExpiryCause of(NylasError error) {
        return of(error.httpStatus(), error.type(), error.message());
    }

    /**
     * @param detail {@code error.message}, with {@code provider_error} appended when Nylas sent one
     */
    public static ExpiryCause of(int httpStatus, String type, String detail) {
        if (httpStatus == 0 || httpStatus == 429 || httpStatus >= 500) {
            return TRANSIENT;
        }
        if (detail != null) {
            Matcher code = CODE.matcher(detail);
            while (code.find()) {
                ExpiryCause known = AADSTS.get(Integer.parseInt(code.group(1)));
                if (known != null) {
                    return known;
                }
            }
        }
        String t = type == null ? "" : type.toLowerCase(Locale.ROOT);
        if (t.contains("consent")) {
            return CONSENT_REVOKED;
        }
        if (t.contains("client_secret") || t.contains("invalid_client")) {
            return SECRET_INVALID;
        }
        if (httpStatus == 404 && !t.contains("credential")) {
            return MAILBOX;
        }
        return UNKNOWN;
    }
}
