package io.consentbridge.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.consentbridge.support.BridgeUnderTest;
import io.consentbridge.support.TopicReader;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Contract §2, CloudEvents in, through a real broker: a request sent as a CloudEvent (structured,
 * with or without the header, or binary) is processed like the plain request; a broken CloudEvent
 * (no data, data that is no object, wrong specversion, conflicting headers, another format,
 * oversized data) gives exactly one rejection on the DLQ with the reason; either way the next
 * record of the partition is processed, and no header of the input reaches a record the bundle
 * writes (only content-type is ever written).
 */
class CloudEventRecordProperties {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final ObjectMapper JSON = new ObjectMapper();
    static final AtomicInteger TRY = new AtomicInteger();
    static final String[] FAULTS = {"none", "no data", "data is text", "data is a list", "data is null", "specversion 0.3",
            "no id", "data_base64", "datacontenttype text/plain", "conflicting headers", "batch format", "oversized data"};
    static final BridgeUnderTest bridge = new BridgeUnderTest();
    static final TopicReader consentUrls = bridge.reader("consent-urls");
    static final TopicReader dlq = bridge.reader("dlq");

    @BeforeContainer
    static void start() {
        bridge.start();
    }

    @AfterContainer
    static void stop() {
        bridge.close();
    }

    @Property(tries = 48, seed = "20261201")
    void anyCloudEventRecordGivesExactlyOneOutcome(@ForAll @IntRange(min = -6, max = 11) int faultOrValid,
                                                   @ForAll @IntRange(min = 0, max = 2) int mode,
                                                   @ForAll boolean mailboxTopic,
                                                   @ForAll long seed) {
        int n = TRY.incrementAndGet();
        // A third of the records are valid: those are the ones that carry input headers all the way to an event.
        int fault = Math.max(0, faultOrValid);
        String topic = mailboxTopic ? "mailboxes" : "onboarding";
        String tenant = "ce-prop-" + n;
        ObjectNode request = JSON.createObjectNode().put("request_id", "req-" + tenant).put("tenant_id", tenant);
        request.set("mailboxes", JSON.valueToTree(List.of("ada@" + tenant + ".example", "chloé@bücher.de")));
        ObjectNode event = JSON.createObjectNode().put("specversion", "1.0").put("id", "id-" + seed)
                .put("source", "/upstream").put("type", "com.example.request").put("subject", tenant);
        event.set("data", request);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        headers.put("kafka.OVERRIDE_TOPIC", "elsewhere");
        switch (FAULTS[fault]) {
            case "no data" -> event.remove("data");
            case "data is text" -> event.put("data", request.toString());
            case "data is a list" -> event.set("data", JSON.createArrayNode().add(request));
            case "data is null" -> event.putNull("data");
            case "specversion 0.3" -> event.put("specversion", "0.3");
            case "no id" -> event.remove("id");
            case "data_base64" -> event.put("data_base64", "e30=");
            case "datacontenttype text/plain" -> event.put("datacontenttype", "text/plain");
            case "conflicting headers" -> {
                headers.put("content-type", "application/cloudevents+json");
                headers.put("ce_specversion", "1.0");
            }
            case "batch format" -> headers.put("content-type", "application/cloudevents-batch+json");
            case "oversized data" -> {
                List<String> many = new ArrayList<>();
                Random random = new Random(seed);
                for (int i = 0; i < 10_001; i++) {
                    many.add("m" + random.nextInt(1_000_000) + "-" + i + "@contoso.example");
                }
                request.set("mailboxes", JSON.valueToTree(many));
            }
            default -> {
            }
        }
        String value;
        boolean headersSayHow = headers.containsKey("content-type");
        if (mode == 2 && !headersSayHow) {
            // Binary mode: the attributes as ce_ headers, the data as the value.
            event.fields().forEachRemaining(f -> {
                if (!f.getKey().equals("data")) {
                    headers.put("ce_" + f.getKey(), f.getValue().isTextual() ? f.getValue().asText() : f.getValue().toString());
                }
            });
            value = event.has("data") ? event.get("data").toString() : "";
        } else {
            if (mode == 1 && !headersSayHow) {
                headers.put("content-type", "application/cloudevents+json; charset=UTF-8");
            }
            value = event.toString();
        }
        boolean valid = fault == 0;

        int dlqBefore = dlq.records().size();
        int linksBefore = consentUrls.records().size();
        String canary = "canary-" + tenant;
        bridge.send(topic, "one-partition", value, headers);
        bridge.send(topic, "one-partition", "{\"request_id\":\"req-" + canary + "\",\"tenant_id\":\"" + canary + "\""
                + (mailboxTopic ? ",\"mailboxes\":[\"x@canary.example\"]" : "") + "}");
        TopicReader canaryOutcome = mailboxTopic ? dlq : consentUrls;
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20))
                .until(() -> canaryOutcome.events().stream().anyMatch(e -> canary.equals(e.path("subject").asText())));

        // The readers are separate consumers: each reads what was on its topic by now before counting.
        dlq.awaitCaughtUp(WAIT);
        consentUrls.awaitCaughtUp(WAIT);
        List<ConsumerRecord<String, String>> rejections = after(dlq, dlqBefore, canary);
        List<ConsumerRecord<String, String>> links = after(consentUrls, linksBefore, canary);
        String what = FAULTS[fault] + " in mode " + mode + " on " + topic;
        assertThat(rejections.size() + links.size()).as("outcomes of " + what).isEqualTo(1);
        if (valid && !mailboxTopic) {
            assertThat(links).as(what).hasSize(1);
            assertThat(read(links.get(0).value()).path("subject").asText()).isEqualTo(tenant);
        } else {
            assertThat(rejections).as(what).hasSize(1);
            JsonNode data = read(rejections.get(0).value()).path("data");
            // A valid mailbox request for a tenant nobody onboarded is refused for that, not for its envelope.
            assertThat(data.path("reason").asText()).as(what)
                    .isEqualTo(valid ? "unknown tenant" : fault == 11 ? "invalid " + (mailboxTopic ? "mailbox" : "onboarding") + " request" : "invalid CloudEvent");
            assertThat(data.path("errors").size()).isPositive();
        }
        for (ConsumerRecord<String, String> written : RecordOutcomeProperties.concat(rejections, links)) {
            assertThat(Arrays.stream(written.headers().toArray()).map(Header::key).toList()).as("headers written after " + what)
                    .containsExactly("content-type");
        }
    }

    static List<ConsumerRecord<String, String>> after(TopicReader reader, int from, String canary) {
        List<ConsumerRecord<String, String>> all = reader.records();
        return all.subList(from, all.size()).stream().filter(r -> !r.value().contains("\"subject\":\"" + canary + "\"")).toList();
    }

    static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
