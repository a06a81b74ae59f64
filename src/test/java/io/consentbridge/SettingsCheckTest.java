package io.consentbridge;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Every setting is checked before anything starts: one line per problem, naming the variable, never a secret. */
class SettingsCheckTest {
    static final Map<String, String> GOOD = Map.of("nylas.api-key", "nyk_good_key", "nylas.client-id", "client-1");

    @Example
    void theEmbeddedDefaultsWithTheNylasSettingsPass() {
        SettingsCheck.Result result = SettingsCheck.check(GOOD, false);
        assertThat(result.problems()).isEmpty();
        assertThat(result.warnings()).isEmpty();
    }

    @Example
    void allProblemsAreReportedAtOnceOneLineEach() {
        Map<String, String> bad = new HashMap<>(Map.of("consent.ttl", "abc", "camel.server.port", "99999",
                "ledger.url", "jdbc:mysql://db/x", "nylas.api-uri", "http://api.example.com", "topics.dlq", "bad topic"));
        SettingsCheck.Result result = SettingsCheck.check(bad, false);
        assertThat(result.problems()).hasSize(7).allSatisfy(line -> assertThat(line).doesNotContain("\n").contains("expected"));
        assertThat(String.join("\n", result.problems())).contains("NYLAS_API_KEY (nylas.api-key) not set", "NYLAS_CLIENT_ID",
                "CONSENT_TTL (consent.ttl) = \"abc\"", "HTTP_PORT", "DB_URL", "NYLAS_API_URI", "DLQ_TOPIC");
    }

    @Example
    void anH2LedgerOtherProcessesCouldOpenIsRefused() {
        // An H2 ledger is one process's own (its heartbeat written once): an instance on a shared one
        // would take over another's claimed work.
        assertThat(check("ledger.url", "jdbc:h2:tcp://db:9092/ledger")).singleElement().asString()
                .contains("DB_URL", "jdbc:h2:tcp://db:9092/ledger", "jdbc:postgresql://");
        assertThat(check("ledger.url", "jdbc:h2:ssl://db/ledger;user=x;password=hunter2")).singleElement().asString()
                .doesNotContain("hunter2");
        assertThat(check("ledger.url", "jdbc:h2:file:./data/ledger;auto_server=true")).hasSize(1);
        assertThat(check("ledger.url", "jdbc:h2:./data/ledger;MODE=PostgreSQL; AUTO_SERVER = TRUE")).hasSize(1);
        // Every spelling H2 reads as true turns it on.
        for (String on : List.of("1", "yes", "Y", "t", "TRUE")) {
            assertThat(check("ledger.url", "jdbc:h2:file:./data/ledger;AUTO_SERVER=" + on + ";MODE=PostgreSQL")).as(on).hasSize(1);
        }
        assertThat(check("ledger.url", "jdbc:h2:file:./data/ledger;AUTO_SERVER=FALSE")).isEmpty();
        assertThat(check("ledger.url", "jdbc:h2:file:./data/ledger;AUTO_SERVER=0;AUTO_SERVER_PORT=9090")).isEmpty();
        assertThat(check("ledger.url", "jdbc:h2:mem:ledger")).isEmpty();
        assertThat(check("ledger.url", "jdbc:h2:./data/ledger")).isEmpty();
    }

    @Example
    void numbersAreAsciiDigits() {
        // Found by the property below: Integer.parseInt takes "١" (ARABIC-INDIC DIGIT ONE) as 1.
        assertThat(check("ledger.pool-size", "\u0661")).singleElement().asString().contains("ledger.pool-size");
        assertThat(check("camel.server.port", "８０８０")).hasSize(1);
        assertThat(check("ledger.pool-size", "+7")).isEmpty();
        assertThat(check("camel.component.kafka.brokers", "kafka:\u0669\u0660\u0669\u0662")).hasSize(1);
    }

    @Example
    void nylasOverPlainHttpOnlyOnLoopback() {
        assertThat(check("nylas.api-uri", "http://127.0.0.1:8090")).isEmpty();
        assertThat(check("nylas.api-uri", "http://localhost:8090")).isEmpty();
        assertThat(check("nylas.api-uri", "https://api.eu.nylas.com")).isEmpty();
        assertThat(check("nylas.api-uri", "http://api.us.nylas.com")).hasSize(1);
    }

    @Example
    void aRateAboveNylasLimitWorksButIsWarnedAbout() {
        Map<String, String> settings = new HashMap<>(GOOD);
        settings.put("nylas.max-requests-per-second", "80");
        SettingsCheck.Result result = SettingsCheck.check(settings, false);
        assertThat(result.problems()).isEmpty();
        assertThat(result.warnings()).singleElement().asString().contains("NYLAS_MAX_RPS", "50");
    }

    @Example
    void routesDirMustExistAndHoldRoutes() throws Exception {
        Path empty = Files.createTempDirectory("no-routes");
        assertThat(check("routes.dir", empty.resolve("missing").toString())).singleElement().asString().contains("ROUTES_DIR", "exists");
        assertThat(check("routes.dir", empty.toString())).singleElement().asString().contains("*.camel.yaml");
        Files.writeString(empty.resolve("a.camel.yaml"), "- route: {}\n");
        assertThat(check("routes.dir", empty.toString())).isEmpty();
    }

    @Example
    void oneTopicForTwoPurposesIsRefused() {
        Map<String, String> settings = new HashMap<>(GOOD);
        settings.put("topics.results", "same");
        settings.put("topics.dlq", "same");
        assertThat(SettingsCheck.check(settings, false).problems()).singleElement().asString().contains("DLQ_TOPIC", "RESULT_TOPIC");
    }

    @Property(tries = 500, seed = "20261201")
    void anyBadValueOfAnySettingIsNamedAndNoSecretIsShown(@ForAll("badSettings") Tuple.Tuple2<String, String> bad) {
        List<String> problems = check(bad.get1(), bad.get2());
        assertThat(problems).as(bad.toString()).isNotEmpty();
        assertThat(problems).allSatisfy(line -> assertThat(line).contains(SettingsCheck.name(bad.get1())).doesNotContain("\n", "\r"));
    }

    @Property(tries = 200, seed = "20261201")
    void aSecretIsNeverShown(@ForAll("secretLooking") String secret) {
        Map<String, String> settings = new HashMap<>();
        settings.put("nylas.api-key", secret);
        settings.put("admin.token", secret);
        settings.put("ledger.password", secret);
        settings.put("consent.ttl", "bad");
        SettingsCheck.Result result = SettingsCheck.check(settings, false);
        assertThat(String.join("\n", result.problems()) + String.join("\n", result.warnings())).doesNotContain(secret);
    }

    @Provide
    Arbitrary<Tuple.Tuple2<String, String>> badSettings() {
        Arbitrary<String> junk = Arbitraries.strings().ofMinLength(1).ofMaxLength(30).filter(s -> !s.isBlank());
        Arbitrary<String> notANumber = junk.filter(s -> !s.trim().matches("-?\\d+"));
        Arbitrary<String> negative = Arbitraries.integers().between(Integer.MIN_VALUE, 0).map(String::valueOf);
        Arbitrary<String> notADuration = junk.filter(s -> !s.trim().toUpperCase().startsWith("P"));
        Arbitrary<String> notATopic = Arbitraries.strings().withChars(" /\\:*?\"<>|#@!,;").ofMinLength(1).ofMaxLength(10)
                .map(s -> "t" + s);
        Arbitrary<String> notAUrl = Arbitraries.oneOf(junk.filter(s -> !s.contains("://")), Arbitraries.of("ftp://x/y", "/relative/path", "mailto:a@b.c"));
        Arbitrary<String> badPort = Arbitraries.oneOf(notANumber, Arbitraries.integers().between(65536, Integer.MAX_VALUE).map(String::valueOf),
                Arbitraries.integers().between(Integer.MIN_VALUE, -1).map(String::valueOf));
        return Arbitraries.frequencyOf(
                Tuple.of(1, badPort.map(v -> Tuple.of("camel.server.port", v))),
                Tuple.of(1, badPort.map(v -> Tuple.of("camel.management.port", v))),
                Tuple.of(1, notADuration.map(v -> Tuple.of("consent.ttl", v))),
                Tuple.of(1, Arbitraries.oneOf(notANumber, negative).map(v -> Tuple.of("nylas.max-requests-per-second", v))),
                Tuple.of(1, Arbitraries.oneOf(notANumber, negative).map(v -> Tuple.of("ledger.pool-size", v))),
                Tuple.of(1, Arbitraries.oneOf(notANumber, negative).map(v -> Tuple.of("grants.consumers", v))),
                Tuple.of(1, Arbitraries.oneOf(junk.filter(s -> !s.trim().matches("(0\\.[5-9]\\d*|1(\\.0*)?)")),
                        Arbitraries.doubles().between(-1000, 0.49).ofScale(2).map(String::valueOf),
                        Arbitraries.doubles().between(1.01, 1000).ofScale(2).map(String::valueOf))
                        .map(v -> Tuple.of("nylas.rate-budget.fill", v))),
                Tuple.of(1, Arbitraries.oneOf(notADuration, Arbitraries.longs().between(-86_400, -1).map(n -> "PT" + n + "S"))
                        .map(v -> Tuple.of("nylas.rate-budget.warm-up", v))),
                Tuple.of(1, notAUrl.map(v -> Tuple.of("nylas.api-uri", v))),
                Tuple.of(1, notAUrl.map(v -> Tuple.of("consent.redirect-uri", v))),
                Tuple.of(1, junk.filter(s -> !s.startsWith("jdbc:h2:") && !s.startsWith("jdbc:postgresql:")).map(v -> Tuple.of("ledger.url", v))),
                Tuple.of(1, Combinators.combine(notATopic, Arbitraries.of("topics.onboarding", "topics.mailboxes", "topics.consent-urls",
                        "topics.results", "topics.dlq")).as((v, k) -> Tuple.of(k, v))),
                Tuple.of(1, junk.filter(s -> !s.matches("[^:,]+:\\d+(,[^:,]+:\\d+)*")).map(v -> Tuple.of("camel.component.kafka.brokers", v))),
                Tuple.of(1, junk.filter(s -> !s.equalsIgnoreCase("true") && !s.equalsIgnoreCase("false")).map(v -> Tuple.of("routes.reload", v))),
                Tuple.of(1, Arbitraries.strings().alpha().ofLength(12).map(v -> Tuple.of("routes.dir", "/nonexistent/" + v))));
    }

    @Provide
    Arbitrary<String> secretLooking() {
        return Arbitraries.strings().alpha().numeric().ofMinLength(12).ofMaxLength(40).map(s -> "nyk_" + s);
    }

    static List<String> check(String key, String value) {
        Map<String, String> settings = new HashMap<>(GOOD);
        settings.put(key, value);
        return SettingsCheck.check(settings, false).problems();
    }
}
