package io.consentbridge.callback;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The callback reads its parameters from the raw query string, decoded, the first of each name. */
class ConsentCallbackQueryTest {

    @Test
    void parametersAreDecodedAndTheFirstOfEachNameWins() {
        var query = ConsentCallback.query("state=a%2Bb&admin_consent=True&state=second&error_description=not+given&flag");
        assertThat(query).containsEntry("state", "a+b").containsEntry("admin_consent", "True")
                .containsEntry("error_description", "not given").containsEntry("flag", "");
    }

    @Test
    void aMalformedEscapeIsIgnoredAndLongValuesAreCut() {
        var query = ConsentCallback.query("state=%zz&error=" + "e".repeat(5000));
        assertThat(query).doesNotContainKey("state");
        assertThat(query.get("error")).hasSize(ConsentCallback.MAX_PARAM);
        assertThat(ConsentCallback.query(null)).isEmpty();
    }

    @Test
    void theCutNeverSplitsASurrogatePair() {
        // Found by CallbackFuzzTest: a cut through an emoji left half of it, which a JSON writer
        // may emit as a lone "\ud83d" escape in consent.denied.
        String description = "a".repeat(ConsentCallback.MAX_PARAM - 1) + "\uD83D\uDE00" + "tail";
        String cut = ConsentCallback.query("error=x&error_description=" + java.net.URLEncoder.encode(description, java.nio.charset.StandardCharsets.UTF_8))
                .get("error_description");
        assertThat(cut).hasSize(ConsentCallback.MAX_PARAM - 1).doesNotContain("\uD83D");
    }
}
