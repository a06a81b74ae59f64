package io.consentbridge.secrets;

import io.consentbridge.nylas.NylasError;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Secrets in free text (an error body that echoes the request) are masked wherever they stand. */
class RedactionTest {

    @Test
    void anEchoedSecretIsMaskedInEveryNotation() {
        String[] texts = {
                "{\"error\":{\"message\":\"bad credential_data\",\"client_secret\":\"s3cr3t-json\"}}",
                "invalid {\\\"client_id\\\":\\\"app\\\",\\\"client_secret\\\":\\\"s3cr3t-escaped\\\"} sent",
                "client_secret=s3cr3t-form&client_id=app",
                "Authorization failed for api_key: s3cr3t-bare, retry",
                "{'password': 's3cr3t-single'}",
                "token = \"s3cr3t-spaced\"",
                "CLIENT_SECRET:s3cr3t-upper}",
        };
        for (String text : texts) {
            String masked = Redaction.redactText(text);
            assertThat(masked).as(text).doesNotContain("s3cr3t").contains("***");
        }
        // What is not a secret stays readable.
        assertThat(Redaction.redactText("client_secret=s3cr3t-form&client_id=app")).contains("client_id=app");
    }

    @Test
    void aNylasErrorNeverCarriesTheSecretItEchoes() {
        NylasError error = new NylasError("invalid_request_error",
                "credential_data is invalid: {\"client_id\":\"app\",\"client_secret\":\"s3cr3t-nylas\"}", 400, "req-1");
        assertThat(error.message()).doesNotContain("s3cr3t-nylas").contains("client_id");
        assertThat(error.asEventField().toString()).doesNotContain("s3cr3t-nylas");
    }

    @Test
    void textWithoutSecretsIsLeftAsItIs() {
        String text = "grant not found; secretary@contoso.com is not a secret: value";
        assertThat(Redaction.redactText("no secrets here at all")).isEqualTo("no secrets here at all");
        assertThat(Redaction.redactText(text)).startsWith("grant not found; secretary@contoso.com");
    }

    @Test
    void hostileTextIsMaskedInOnePass() {
        // A million characters of secret words without a value, then one with: finished, and masked.
        String text = "secret".repeat(170_000) + " token=\"s3cr3t-last\"";
        assertThat(Redaction.redactText(text)).doesNotContain("s3cr3t-last").endsWith("token=\"***\"");
        String quotes = "client_secret=\"" + "\\\"".repeat(200_000);
        assertThat(Redaction.redactText(quotes)).isEqualTo("client_secret=\"***\"");
    }
}
