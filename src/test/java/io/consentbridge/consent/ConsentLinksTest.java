package io.consentbridge.consent;

import io.consentbridge.callback.CallbackPages;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ConsentLinksTest {

    @Test
    void statesAreLongRandomAndUrlSafe() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String state = ConsentLinks.newState();
            assertThat(state).hasSize(43).matches("[A-Za-z0-9_-]+");
            assertThat(seen.add(state)).isTrue();
        }
    }

    @Test
    void theHashIsStableAndNotTheState() {
        String state = ConsentLinks.newState();
        assertThat(ConsentLinks.hash(state)).isEqualTo(ConsentLinks.hash(state)).hasSize(64).isNotEqualTo(state);
    }

    @Test
    void theUrlCarriesEveryParameterEncoded() {
        ConsentLinks links = new ConsentLinks("https://api.eu.nylas.com/", "client-1", "https://bridge.example.com/nylas/admin-consent/callback",
                java.time.Clock.systemUTC(), java.time.Duration.ofDays(7));
        String url = links.url("cred-1", "st_1", "it+admin@contoso.com");
        assertThat(url).startsWith("https://api.eu.nylas.com/v3/connect/auth?")
                .contains("client_id=client-1")
                .contains("redirect_uri=https%3A%2F%2Fbridge.example.com%2Fnylas%2Fadmin-consent%2Fcallback")
                .contains("response_type=adminconsent", "provider=microsoft", "credential_id=cred-1", "state=st_1")
                .contains("login_hint=it%2Badmin%40contoso.com");
        assertThat(links.url("cred-1", "st_1", null)).doesNotContain("login_hint");
    }

    @Test
    void pagesEscapeMarkup() {
        assertThat(CallbackPages.escape("<a href=\"x\" onclick='y'>&</a>"))
                .isEqualTo("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;&#47;a&gt;");
        assertThat(CallbackPages.escape(null)).isEmpty();
    }
}
