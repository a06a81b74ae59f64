package io.consentbridge.ops;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/** How ADMIN_TOKEN may be presented: Bearer for scripts, HTTP Basic password for a browser. */
class AdminCredentialsTest {
    static final AdminCredentials TOKEN = new AdminCredentials("t0k:en-ü");

    static String basic(String pair) {
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theTokenAsBearerOrAsBasicPasswordWithAnyUserName() {
        assertThat(TOKEN.bearer("Bearer t0k:en-ü")).isTrue();
        assertThat(TOKEN.bearerOrBasic("Bearer t0k:en-ü")).isTrue();
        assertThat(TOKEN.bearerOrBasic(basic("operator:t0k:en-ü"))).isTrue();
        assertThat(TOKEN.bearerOrBasic(basic(":t0k:en-ü"))).isTrue();
        assertThat(TOKEN.bearerOrBasic("basic " + basic("x:t0k:en-ü").substring(6))).as("the scheme in any case").isTrue();
    }

    @Test
    void anythingElseIsRefused() {
        assertThat(TOKEN.bearer(basic("operator:t0k:en-ü"))).as("the status endpoint takes Bearer only").isFalse();
        for (String wrong : new String[]{null, "", "Bearer", "Bearer ", "Bearer t0k:en", "Bearer t0k:en-üx", "bearer t0k:en-ü",
                "t0k:en-ü", basic("t0k:en-ü"), basic("t0k:en-ü:"), basic("operator:wrong"), "Basic", "Basic !!!", "Basic " + "t0k:en-ü"}) {
            assertThat(TOKEN.bearerOrBasic(wrong)).as(String.valueOf(wrong)).isFalse();
        }
    }

    @Test
    void noTokenConfiguredAcceptsNothing() {
        for (String unset : new String[]{null, "", "  "}) {
            AdminCredentials none = new AdminCredentials(unset);
            assertThat(none.configured()).isFalse();
            assertThat(none.bearer("Bearer ")).isFalse();
            assertThat(none.bearerOrBasic(basic("operator:"))).isFalse();
        }
    }
}
