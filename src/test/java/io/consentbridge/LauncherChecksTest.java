package io.consentbridge;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What the launcher refuses or rewrites before anything starts. */
class LauncherChecksTest {

    @Test
    void demoModeRefusesRealNylasSettings() {
        assertThat(ConsentBridge.demoConflict(true, Map.of())).isNull();
        assertThat(ConsentBridge.demoConflict(true, Map.of("nylas.api-key", "nyk_live", "nylas.api-uri", "https://api.us.nylas.com")))
                .contains("NYLAS_API_KEY, NYLAS_API_URI are set").doesNotContain("nyk_live");
        assertThat(ConsentBridge.demoConflict(false, Map.of("nylas.api-key", "nyk_live"))).isNull();
    }

    @Test
    void demoEnabledCanOnlyComeFromTheDemoSwitch() {
        assertThat(ConsentBridge.demoConflict(false, Map.of("demo.enabled", "true"))).contains("only --demo");
    }

    @Test
    void aPasswordInsideTheLedgerUrlIsTakenOut() {
        assertThat(LedgerUrl.split("jdbc:postgresql://db:5432/bridge?user=cb&password=pg-Secret&ssl=true"))
                .isEqualTo(new LedgerUrl("jdbc:postgresql://db:5432/bridge?user=cb&ssl=true", "pg-Secret"));
        assertThat(LedgerUrl.split("jdbc:postgresql://db/bridge?password=pg-Secret&ssl=true"))
                .isEqualTo(new LedgerUrl("jdbc:postgresql://db/bridge?ssl=true", "pg-Secret"));
        assertThat(LedgerUrl.split("jdbc:h2:file:./data/x;USER=sa;PASSWORD=h2-Secret;MODE=PostgreSQL"))
                .isEqualTo(new LedgerUrl("jdbc:h2:file:./data/x;USER=sa;MODE=PostgreSQL", "h2-Secret"));
        assertThat(LedgerUrl.split("jdbc:h2:file:./data/x")).isEqualTo(new LedgerUrl("jdbc:h2:file:./data/x", null));
    }

    @Test
    void theManagementPortListensOnLoopbackUnlessToldOtherwise() {
        assertThat(Settings.effective("camel.management.host", Map.of())).isEqualTo("127.0.0.1");
        assertThat(Settings.fromEnvironment(Map.of("MANAGEMENT_HOST", "0.0.0.0"))).containsEntry("camel.management.host", "0.0.0.0");
    }
}
