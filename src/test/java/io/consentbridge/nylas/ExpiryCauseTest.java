package io.consentbridge.nylas;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every case of reference §9 (and §4's statuses), as Nylas may wrap it: the code in
 * {@code error.message}, only in {@code provider_error} (appended to the detail by NylasAnswers),
 * or absent.
 */
class ExpiryCauseTest {
    @ParameterizedTest(name = "{0} {1} \"{2}\" -> {3}")
    @CsvSource(delimiter = '|', nullValues = "null", textBlock = """
            400 | token.exchange_failed     | AADSTS65001: The user or administrator has not consented to use the application | CONSENT_REVOKED
            400 | token.exchange_failed     | AADSTS65004: User declined to consent to access the app.                          | CONSENT_REVOKED
            400 | token.exchange_failed     | AADSTS90094: The grant requires admin permission.                                 | CONSENT_REVOKED
            400 | token.exchange_failed     | AADSTS700016: Application with identifier 'x' was not found in the directory      | CONSENT_REVOKED
            401 | api.authentication_error  | AADSTS7000215: Invalid client secret provided.                                    | SECRET_INVALID
            400 | token.exchange_failed     | AADSTS7000222: The provided client secret keys for app 'x' are expired.           | SECRET_INVALID
            400 | token.exchange_failed     | AADSTS50034: The user account does not exist in the directory.                    | MAILBOX
            400 | token.exchange_failed     | Failed to exchange the token with the provider (provider: invalid_grant AADSTS65001 codes [65001]) | CONSENT_REVOKED
            400 | token.exchange_failed     | Failed to exchange the token with the provider (provider: invalid_client codes [7000222] AADSTS7000222) | SECRET_INVALID
            400 | token.exchange_failed     | AADSTS50076: multi-factor authentication required                                  | UNKNOWN
            400 | token.exchange_failed     | Failed to exchange the token with the provider                                    | UNKNOWN
            400 | admin_consent_required    | no code given                                                                     | CONSENT_REVOKED
            400 | invalid_client            | no code given                                                                     | SECRET_INVALID
            404 | not_found_error           | grant not found                                                                   | MAILBOX
            404 | not_found_error           | credential not found                                                              | MAILBOX
            400 | invalid_request_error     | credential not found: abc                                                         | UNKNOWN
            401 | unauthorized              | Unauthorized: missing or invalid API key                                          | UNKNOWN
            403 | insufficient_scopes       | no code given                                                                     | UNKNOWN
            429 | rate_limit_error          | AADSTS65001 in a throttled answer still says nothing yet                          | TRANSIENT
            500 | api.internal_error        | AADSTS7000222                                                                     | TRANSIENT
            503 | null                      | null                                                                              | TRANSIENT
            0   | connection_error          | ConnectException: Connection refused                                              | TRANSIENT
            """)
    void theCauseIsReadFromStatusTypeAndTheAadstsCode(int status, String type, String detail, ExpiryCause expected) {
        assertThat(ExpiryCause.of(status, type, detail)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"CONSENT_REVOKED,consent_revoked,reconsent,true", "SECRET_INVALID,secret_invalid,rotate_secret,true",
            "UNKNOWN,unknown,investigate,true", "MAILBOX,mailbox,,false", "TRANSIENT,transient,,false"})
    void eachCauseNamesItsAttentionCauseAndAction(ExpiryCause cause, String name, String action, boolean tenantWide) {
        assertThat(cause.cause()).isEqualTo(name);
        assertThat(cause.action()).isEqualTo(action);
        assertThat(cause.tenantWide()).isEqualTo(tenantWide);
    }
}
