package io.consentbridge.shared;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.Notifications;
import io.consentbridge.support.TopicReader;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two instances of the bridge, as in a scaled-out deployment: one Nylas, one Kafka (same topics,
 * same consumer group) and one PostgreSQL database. Each instance has its own public and
 * management port, so an admin's browser may come back to either.
 */
public class TwoInstancesTest {
    // Two bridges on a 2-core machine shared with other test runs: generous waits, no speed asserts.
    static final Duration WAIT = Duration.ofSeconds(90);
    static final ObjectMapper JSON = new ObjectMapper();
    static LocalPostgres postgres;
    static final String WEBHOOK_SECRET = "whsec-two-5e0b";

    @BeforeAll
    static void database() {
        postgres = LocalPostgres.shared();
    }

    /** Two started instances sharing topics, group and database; closes both and the readers. */
    static final class Pair implements AutoCloseable {
        final NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).start();
        final BridgeUnderTest a;
        final BridgeUnderTest b;
        final TopicReader consentUrls;
        final TopicReader results;
        final TopicReader dlq;

        Pair(Map<String, String> extra) {
            String db = postgres.createDatabase("two_" + UUID.randomUUID().toString().substring(0, 8));
            a = new BridgeUnderTest(nylas, null, db).with("ledger.user", LocalPostgres.USER);
            extra.forEach(a::with);
            // Built from a's settings: same topics, group, database and extras; own ports.
            b = new BridgeUnderTest(nylas, a.settings, null);
            a.start();
            b.start();
            consentUrls = a.reader("consent-urls");
            results = a.reader("results");
            dlq = a.reader("dlq");
        }

        BridgeUnderTest other(BridgeUnderTest one) {
            return one == a ? b : a;
        }

        /** The instance whose public port is the consent link's redirect_uri: the one that issued it. */
        BridgeUnderTest issuerOf(String consentUrl) {
            URI redirect = URI.create(query(URI.create(consentUrl)).get("redirect_uri"));
            if (redirect.getPort() == a.httpPort) return a;
            if (redirect.getPort() == b.httpPort) return b;
            throw new AssertionError("redirect_uri points at neither instance: " + redirect);
        }

        /** Both instances have done all they will do with what they were given so far (see BridgeUnderTest.awaitIdle). */
        void awaitIdle() {
            a.awaitIdle();
            b.awaitIdle();
        }

        /** A NotifyBuilder on both instances' contexts: true once each has finished this many exchanges of the route. */
        void awaitRounds(String routeId, int exchanges) {
            NotifyBuilder atA = new NotifyBuilder(a.context()).fromRoute(routeId).whenDone(exchanges).create();
            NotifyBuilder atB = new NotifyBuilder(b.context()).fromRoute(routeId).whenDone(exchanges).create();
            assertThat(atA.matches(WAIT.toSeconds(), TimeUnit.SECONDS) && atB.matches(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .as(exchanges + " more exchanges of " + routeId + " at both instances").isTrue();
        }

        @Override
        public void close() {
            b.stop();
            a.stop();
            b.close();
            a.close();
        }
    }

    @Test
    void theCallbackArrivesAtTheInstanceThatDidNotIssueTheLinkAndStillWorks() {
        long sweepsFrom = System.nanoTime();
        try (Pair pair = new Pair(Map.of("nylas.webhook-secret", WEBHOOK_SECRET, "reconcile.interval", "PT3S",
                "reconcile.check-interval-ms", "250"))) {
            // Two tenants: whichever instance takes each onboarding, the callback goes to the other one.
            for (String tenant : List.of("wingtip", "adatum")) {
                List<String> mailboxes = IntStream.range(0, 3).mapToObj(i -> "user" + i + "@" + tenant + ".com").toList();
                pair.a.send("onboarding", tenant, onboarding("req-" + tenant, tenant, mailboxes));
                JsonNode issued = pair.consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
                String consentUrl = issued.path("data").path("consent_url").asText();
                BridgeUnderTest issuer = pair.issuerOf(consentUrl);
                BridgeUnderTest elsewhere = pair.other(issuer);
                System.out.printf("%s: link issued by instance %s, callback sent to instance %s%n",
                        tenant, issuer == pair.a ? "A" : "B", elsewhere == pair.a ? "A" : "B");

                // Nylas sends the browser to the issuer's redirect_uri; a load balancer may hand it to the other.
                URI location = nylasRedirect(issuer, consentUrl);
                URI atOther = elsewhere.callbackUri(location.getRawQuery());
                HttpResponse<String> page = elsewhere.get(atOther, null);
                assertThat(page.statusCode()).isEqualTo(200);
                assertThat(page.body()).contains("Consent recorded");

                JsonNode granted = pair.results.awaitEvent(e -> is(e, "consent.granted", tenant), WAIT);
                assertThat(granted.path("data").path("mailbox_count").asInt()).isEqualTo(3);
                await().atMost(WAIT).until(() -> emailsOf(pair.results, "grant.created", tenant).size() == 3);
                assertThat(emailsOf(pair.results, "grant.created", tenant)).containsExactlyInAnyOrderElementsOf(mailboxes);

                // The same state again, now at the instance that issued it: used once, refused everywhere.
                HttpResponse<String> replay = issuer.get(issuer.callbackUri(location.getRawQuery()), null);
                assertThat(replay.statusCode()).isEqualTo(400);
                assertThat(replay.body()).contains("not valid");
            }
            pair.awaitIdle();
            for (String tenant : List.of("wingtip", "adatum")) {
                assertThat(count(pair.results, "consent.granted", tenant)).as("consent.granted for " + tenant).isEqualTo(1);
                assertThat(count(pair.results, "grant.created", tenant)).as("grant.created for " + tenant).isEqualTo(3);
            }

            // Nylas delivers the same notification to both instances (behind a load balancer, at least once):
            // handled once across the two.
            JsonNode grant = pair.results.events().stream().filter(e -> is(e, "grant.created", "wingtip")).findFirst().orElseThrow();
            pair.nylas.expireGrant(grant.path("data").path("email").asText());
            String notification = Notifications.expired(grant.path("data").path("grant_id").asText(), grant.path("data").path("email").asText());
            java.util.concurrent.CompletableFuture<Integer> atA = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> Notifications.postSigned(pair.a, notification, WEBHOOK_SECRET).statusCode());
            java.util.concurrent.CompletableFuture<Integer> atB = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> Notifications.postSigned(pair.b, notification, WEBHOOK_SECRET).statusCode());
            assertThat(List.of(atA.join(), atB.join())).containsOnly(200);
            pair.results.awaitEvent(e -> is(e, "grant.restored", "wingtip"), WAIT);
            pair.awaitIdle();
            assertThat(count(pair.results, "grant.expired", "wingtip")).isEqualTo(1);
            assertThat(count(pair.results, "grant.restored", "wingtip")).isEqualTo(1);

            // The periodic sweep: once per interval between the two instances (each alone would sweep as often),
            // counted from before either instance started.
            await().atMost(WAIT).until(() -> count(pair.results, "reconciliation.completed", "*") >= 2);
            long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - sweepsFrom);
            assertThat(count(pair.results, "reconciliation.completed", "*")).as("sweeps in %d s at one per 3 s", seconds)
                    .isLessThanOrEqualTo(seconds / 3 + 1);

            assertThat(pair.dlq.records()).isEmpty();
        }
    }

    @Test
    void anExpiredLinkIsAnnouncedOnce() {
        // Both instances run the expiry every 200 ms against the same rows.
        try (Pair pair = new Pair(Map.of("consent.ttl", "PT2S", "consent.expiry-check-interval-ms", "200"))) {
            List<String> tenants = IntStream.range(0, 5).mapToObj(i -> "lapsed" + i).toList();
            long t0 = System.nanoTime();
            for (String tenant : tenants) {
                pair.a.send("onboarding", tenant, onboarding("req-" + tenant, tenant, List.of()));
            }
            await().atMost(WAIT).until(() -> tenants.stream().allMatch(t -> count(pair.results, "consent.expired", t) >= 1));
            System.out.printf("5 links issued and expired in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            // Both instances keep checking: a late second announcement would come from a later round of either.
            pair.awaitRounds("consent-expiry", 2);
            pair.awaitIdle();

            Map<String, Long> issuedBy = new LinkedHashMap<>();
            for (JsonNode issued : pair.consentUrls.events("consent.url.issued")) {
                String who = pair.issuerOf(issued.path("data").path("consent_url").asText()) == pair.a ? "A" : "B";
                issuedBy.merge(who, 1L, Long::sum);
            }
            Map<String, Long> expiredPerTenant = tenants.stream()
                    .collect(Collectors.toMap(Function.identity(), t -> count(pair.results, "consent.expired", t), (x, y) -> x, LinkedHashMap::new));
            System.out.println("links issued per instance: " + issuedBy + "; consent.expired per tenant: " + expiredPerTenant);
            assertThat(expiredPerTenant).allSatisfy((tenant, n) -> assertThat(n).as("consent.expired for " + tenant).isEqualTo(1L));
            assertThat(count(pair.consentUrls, "consent.url.issued", null)).isEqualTo(5);
            for (String tenant : tenants) {
                JsonNode issued = pair.consentUrls.events("consent.url.issued").stream()
                        .filter(e -> tenant.equals(e.path("subject").asText())).findFirst().orElseThrow();
                JsonNode expired = pair.results.events("consent.expired").stream()
                        .filter(e -> tenant.equals(e.path("subject").asText())).findFirst().orElseThrow();
                assertThat(expired.path("data").path("credential_id").asText()).isEqualTo(issued.path("data").path("credential_id").asText());
                assertThat(expired.path("data").path("expires_at").asText()).isEqualTo(issued.path("data").path("expires_at").asText());
            }
            assertThat(pair.results.events()).allMatch(e -> "consent.expired".equals(e.path("type").asText()));
        }
    }

    @Test
    void bothRelaysShareTheOutboxWithoutSendingAnyEventTwice() {
        try (Pair pair = new Pair(Map.of())) {
            String tenant = "litware";
            List<String> mailboxes = IntStream.range(0, 100).mapToObj(i -> String.format("m%03d@%s.com", i, tenant)).toList();
            pair.a.send("onboarding", tenant, onboarding("req-" + tenant, tenant, mailboxes));
            JsonNode issued = pair.consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
            long t0 = System.nanoTime();
            assertThat(pair.b.consentVia(issued.path("data").path("consent_url").asText()).statusCode()).isEqualTo(200);

            await().atMost(WAIT).until(() -> emailsOf(pair.results, "grant.created", tenant).size() == 100);
            System.out.printf("100 grants relayed in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            // Late duplicates, if any, would come from a round of either relay: both have finished one with nothing left.
            pair.awaitIdle();

            List<ConsumerRecord<String, String>> records = pair.results.records();
            List<JsonNode> events = records.stream().map(r -> json(r.value())).toList();
            Map<String, Long> idCounts = events.stream().collect(Collectors.groupingBy(e -> e.path("id").asText(), Collectors.counting()));
            Map<String, Long> duplicateIds = idCounts.entrySet().stream().filter(e -> e.getValue() > 1)
                    .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
            List<String> grantEmails = events.stream().filter(e -> is(e, "grant.created", tenant))
                    .map(e -> e.path("data").path("email").asText()).toList();
            Map<String, Long> emailCounts = grantEmails.stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
            System.out.printf("results: %d records, %d distinct ids, %d duplicated ids %s; grant.created %d (%d distinct emails); "
                            + "Nylas grant calls %d%n",
                    records.size(), idCounts.size(), duplicateIds.size(), duplicateIds, grantEmails.size(), emailCounts.size(),
                    pair.nylas.grantCalls());

            assertThat(duplicateIds).as("CloudEvent ids published more than once").isEmpty();
            assertThat(emailCounts.keySet()).containsExactlyInAnyOrderElementsOf(mailboxes);
            assertThat(grantEmails).as("grant.created events").hasSize(100);
            assertThat(count(pair.results, "consent.granted", tenant)).isEqualTo(1);
            assertThat(count(pair.results, "grant.failed", tenant)).isZero();

            // One key, one partition: the tenant's consent.granted comes before its grants.
            long grantedOffset = -1;
            long firstGrantOffset = Long.MAX_VALUE;
            for (int i = 0; i < records.size(); i++) {
                JsonNode e = events.get(i);
                if (is(e, "consent.granted", tenant)) grantedOffset = records.get(i).offset();
                if (is(e, "grant.created", tenant)) firstGrantOffset = Math.min(firstGrantOffset, records.get(i).offset());
            }
            assertThat(records.stream().map(ConsumerRecord::partition).distinct()).hasSize(1);
            assertThat(grantedOffset).isLessThan(firstGrantOffset);
            assertThat(pair.dlq.records()).isEmpty();
        }
    }

    /**
     * A graceful stop finishes the grant work the instance holds (calls in flight and claims waiting for a
     * worker) before it leaves: while it does, it is still alive to the others, even when that takes longer
     * than instances.leave-after. Otherwise the others take over work whose call is already at Nylas and
     * make it again.
     */
    @Test
    void anInstanceThatTakesLongerToStopThanLeaveAfterHandsNothingOverTwice() {
        try (Pair pair = new Pair(Map.of())) {
            String tenant = "northwind";
            int count = 160;
            List<String> mailboxes = IntStream.range(0, count).mapToObj(i -> String.format("s%03d@%s.com", i, tenant)).toList();
            pair.a.send("onboarding", tenant, onboarding("req-" + tenant, tenant, mailboxes));
            JsonNode issued = pair.consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
            // Slow answers (and the stand-in's 16 handlers shared by both): what b holds at its stop, a call per
            // worker and as many claims again, takes several answers' time to finish, longer than leave-after (3 s).
            pair.nylas.delay(Duration.ofMillis(2500));
            assertThat(pair.a.consentVia(issued.path("data").path("consent_url").asText()).statusCode()).isEqualTo(200);

            await().atMost(WAIT).until(() -> pair.nylas.grantCalls() >= 20);
            long stopping = System.nanoTime();
            pair.b.stop();
            System.out.printf("b stopped in %d ms, %d grant calls by then%n", (System.nanoTime() - stopping) / 1_000_000,
                    pair.nylas.grantCalls());
            pair.nylas.delay(Duration.ZERO);
            await().atMost(WAIT).until(() -> emailsOf(pair.results, "grant.created", tenant).size() == count);
            pair.a.awaitIdle();

            Map<String, Long> calls = pair.nylas.requests("POST", "/v3/connect/custom").stream()
                    .collect(Collectors.groupingBy(r -> r.json().path("settings").path("email_address").asText(), Collectors.counting()));
            Map<String, Long> twice = calls.entrySet().stream().filter(e -> e.getValue() > 1)
                    .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
            assertThat(twice).as("mailboxes whose grant call was made more than once").isEmpty();
            assertThat(calls.keySet()).containsExactlyInAnyOrderElementsOf(mailboxes);
            assertThat(count(pair.results, "grant.created", tenant)).isEqualTo(count);
        }
    }

    /**
     * A stop while Nylas is failing does not wait out the retries' back-off (up to 30 s with the shipped
     * retry settings) and reports nothing failed: the work whose next attempt was pending stays in the
     * ledger, and the other instance grants it once Nylas is back.
     */
    @Test
    void aStopDuringNylasRetriesLeavesTheWorkToTheOtherInstanceInsteadOfWaitingOrFailingIt() {
        // The shipped back-off (the tests' default is shorter); few workers each, so both hold work.
        try (Pair pair = new Pair(Map.of("nylas.retry.initial-delay-ms", "500", "nylas.retry.max-delay-ms", "30000",
                "grants.consumers", "4"))) {
            String tenant = "fourthcoffee";
            int count = 40;
            List<String> mailboxes = IntStream.range(0, count).mapToObj(i -> String.format("r%02d@%s.com", i, tenant)).toList();
            pair.a.send("onboarding", tenant, onboarding("req-" + tenant, tenant, mailboxes));
            JsonNode issued = pair.consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT);
            pair.nylas.failWhen(r -> r.path().startsWith("/v3/connect/custom"), 503);
            assertThat(pair.a.consentVia(issued.path("data").path("consent_url").asText()).statusCode()).isEqualTo(200);

            // Both instances' workers in their back-off: each has failed a few times.
            await().atMost(WAIT).until(() -> pair.nylas.requests("POST", "/v3/connect/custom").size() >= 24);
            long stopping = System.nanoTime();
            pair.b.stop();
            long stopMs = (System.nanoTime() - stopping) / 1_000_000;
            System.out.printf("b stopped in %d ms during the retries%n", stopMs);
            pair.nylas.clearFaults();

            await().atMost(WAIT).until(() -> emailsOf(pair.results, "grant.created", tenant).size() == count);
            pair.a.awaitIdle();
            assertThat(stopMs).as("ms the stop took (the shutdown timeout is 30 s)").isLessThan(15_000);
            assertThat(count(pair.results, "grant.failed", tenant)).as("grant.failed events").isZero();
            assertThat(count(pair.results, "grant.created", tenant)).isEqualTo(count);
            assertThat(pair.nylas.grants().stream().map(NylasStandIn.Grant::email).toList())
                    .as("grants at Nylas, one per mailbox").containsExactlyInAnyOrderElementsOf(mailboxes);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------

    public static String onboarding(String requestId, String tenant, List<String> mailboxes) {
        String list = mailboxes.stream().map(m -> "\"" + m + "\"").collect(Collectors.joining(","));
        return "{\"request_id\":\"" + requestId + "\",\"tenant_id\":\"" + tenant + "\",\"mailboxes\":[" + list + "]}";
    }

    /** Follows the consent link to Nylas and returns where Nylas redirects the browser (not followed). */
    static URI nylasRedirect(BridgeUnderTest any, String consentUrl) {
        HttpResponse<String> answer = any.get(URI.create(consentUrl), null);
        assertThat(answer.statusCode()).as("Nylas stand-in answer: " + answer.body()).isEqualTo(302);
        return URI.create(answer.headers().firstValue("Location").orElseThrow());
    }

    public static boolean is(JsonNode event, String type, String tenant) {
        return type.equals(event.path("type").asText()) && (tenant == null || tenant.equals(event.path("subject").asText()));
    }

    public static long count(TopicReader reader, String type, String tenant) {
        return reader.events().stream().filter(e -> is(e, type, tenant)).count();
    }

    static Set<String> emailsOf(TopicReader reader, String type, String tenant) {
        return reader.events().stream().filter(e -> is(e, type, tenant))
                .map(e -> e.path("data").path("email").asText()).collect(Collectors.toSet());
    }

    static Map<String, String> query(URI uri) {
        Map<String, String> params = new HashMap<>();
        for (String pair : uri.getRawQuery().split("&")) {
            String[] kv = pair.split("=", 2);
            params.put(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
        }
        return params;
    }

    static JsonNode json(String value) {
        try {
            return JSON.readTree(value);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + value, e);
        }
    }
}
