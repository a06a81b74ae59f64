package io.consentbridge.shared;

import io.consentbridge.bench.ArrivalWindows;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.StallWatch;
import io.consentbridge.support.TopicReader;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.consentbridge.shared.TwoInstancesTest.count;
import static io.consentbridge.shared.TwoInstancesTest.is;
import static io.consentbridge.shared.TwoInstancesTest.onboarding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One rate budget for the deployment (contract §1, NYLAS_MAX_RPS): three instances on one PostgreSQL
 * grant one tenant's mailboxes together, against a Nylas stand-in that answers 429 to any call over
 * the cap in the second before it, as Nylas does. No sliding second at the stand-in holds more than
 * the cap, nothing is answered 429, and an instance stopped half-way leaves nothing of the budget
 * behind: the other two finish the work.
 */
class SharedRateBudgetTest {
    static final Duration WAIT = Duration.ofSeconds(120);
    static final int CAP = 40;
    static final int MAILBOXES = 900;

    @Test
    void threeInstancesStayUnderTheCapInEverySecondAndOneThatStopsLeavesNothingBehind() {
        LocalPostgres postgres = LocalPostgres.shared();
        String db = postgres.createDatabase("budget_" + UUID.randomUUID().toString().substring(0, 8));
        List<BridgeUnderTest> bridges = new ArrayList<>();
        // The stand-in shares this JVM with the three bridges: a pause of the JVM (or a core taken from it)
        // stamps calls sent on time as arriving together. What the JVM did around the busiest second is
        // printed, so a failure says whether it stalled then.
        try (StallWatch stalls = new StallWatch(Duration.ofMillis(30));
             NylasStandIn nylas = new NylasStandIn(BridgeUnderTest.API_KEY, BridgeUnderTest.CLIENT_ID).handlerThreads(64).start()) {
            nylas.rateLimit(CAP);
            BridgeUnderTest first = new BridgeUnderTest(nylas, null, db).with("ledger.user", LocalPostgres.USER)
                    .with("nylas.max-requests-per-second", String.valueOf(CAP));
            bridges.add(first);
            bridges.add(new BridgeUnderTest(nylas, first.settings, null));
            bridges.add(new BridgeUnderTest(nylas, first.settings, null));
            bridges.forEach(BridgeUnderTest::start);
            TopicReader consentUrls = first.reader("consent-urls");
            TopicReader results = first.reader("results");

            String tenant = "fabrikam";
            List<String> mailboxes = IntStream.range(0, MAILBOXES).mapToObj(i -> "user" + i + "@" + tenant + ".com").toList();
            first.send("onboarding", tenant, onboarding("req-" + tenant, tenant, mailboxes));
            String consentUrl = consentUrls.awaitEvent(e -> tenant.equals(e.path("subject").asText()), WAIT)
                    .path("data").path("consent_url").asText();
            HttpResponse<String> page = first.consentVia(consentUrl);
            assertThat(page.statusCode()).isEqualTo(200);

            // A third of the way, one instance stops: the work it had claimed and its turns go to the others.
            await().atMost(WAIT).until(() -> nylas.grantCalls() >= MAILBOXES / 3);
            java.time.Instant stopping = java.time.Instant.now();
            bridges.get(2).stop();
            java.time.Instant stopped = java.time.Instant.now();
            int atStop = nylas.grantCalls();
            await().atMost(WAIT).until(() -> count(results, "grant.created", tenant) == MAILBOXES);
            bridges.get(0).awaitIdle();
            bridges.get(1).awaitIdle();

            List<java.time.Instant> arrivals = nylas.requests().stream()
                    .filter(r -> r.path().startsWith("/v3/")).map(NylasStandIn.RecordedRequest::receivedAt).sorted().toList();
            ArrivalWindows windows = ArrivalWindows.of(arrivals, CAP);
            System.out.printf("%d Nylas calls from 3 instances (one stopped after %d grants): busiest sliding second %d, "
                            + "busiest clock second %d, 429s %d%n",
                    windows.arrivals(), atStop, windows.peakSliding(), windows.peakFixed(), nylas.rateLimited());
            java.time.Instant peak = windows.peakSlidingAt();
            System.out.printf("first call %s, stop asked %+d ms and done %+d ms after it, busiest second starts %+d ms after it%n", arrivals.get(0),
                    Duration.between(arrivals.get(0), stopping).toMillis(), Duration.between(arrivals.get(0), stopped).toMillis(),
                    Duration.between(arrivals.get(0), peak).toMillis());
            System.out.println("arrivals in the busiest second (ms after its start): " + arrivals.stream()
                    .filter(t -> !t.isBefore(peak.minusMillis(300)) && t.isBefore(peak.plusMillis(1300)))
                    .map(t -> String.valueOf(Duration.between(peak, t).toMillis())).collect(Collectors.joining(" ")));
            String stalled = stalls.between(peak.minusMillis(1000), peak.plusMillis(1000));
            System.out.println("JVM stalls and GC pauses within a second of the busiest second's start: " + stalled);
            assertThat(nylas.rateLimited()).as("calls answered 429 (over %d in a second); JVM stalls near the busiest second: %s", CAP, stalled).isZero();
            assertThat(windows.peakSliding()).as("calls in the busiest sliding second; JVM stalls near it: %s", stalled).isLessThanOrEqualTo(CAP);

            List<String> granted = results.events().stream().filter(e -> is(e, "grant.created", tenant))
                    .map(e -> e.path("data").path("email").asText()).toList();
            assertThat(granted.stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting())).values())
                    .as("one grant.created per mailbox").containsOnly(1L);
            assertThat(granted).containsExactlyInAnyOrderElementsOf(mailboxes);
            assertThat(nylas.grantCalls()).as("one grant call per mailbox").isEqualTo(MAILBOXES);
        } finally {
            bridges.forEach(BridgeUnderTest::close);
        }
    }
}
