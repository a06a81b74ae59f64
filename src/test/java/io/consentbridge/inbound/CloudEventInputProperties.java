package io.consentbridge.inbound;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Contract §2, "An input record may also arrive as a CloudEvent": the same request, sent plain, as
 * a structured CloudEvent (with or without the content-type header) or in binary mode, is parsed to
 * the same request; every malformed CloudEvent is refused with a reason that says what is wrong,
 * and nothing else escapes the parser.
 */
class CloudEventInputProperties {
    static final ObjectMapper JSON = new ObjectMapper();
    final InboundRequests inbound = new InboundRequests();

    @Property(tries = 300, seed = "20261201")
    void aRequestIsTheSameRequestInEveryMode(@ForAll("requests") ObjectNode request, @ForAll("attributes") Map<String, String> attributes) {
        OnboardingRequest plain = inbound.parseOnboarding(request.toString(), exchange(Map.of()));

        ObjectNode structured = JSON.createObjectNode();
        attributes.forEach(structured::put);
        structured.set("data", request);
        assertThat(inbound.parseOnboarding(structured.toString(), exchange(Map.of()))).isEqualTo(plain);
        assertThat(inbound.parseOnboarding(structured.toString(),
                exchange(Map.of("content-type", bytes("application/cloudevents+json; charset=UTF-8"))))).isEqualTo(plain);

        Map<String, Object> headers = new LinkedHashMap<>();
        attributes.forEach((name, value) -> headers.put("ce_" + name, bytes(value)));
        headers.put("content-type", bytes("application/json"));
        Exchange binary = exchange(headers);
        assertThat(inbound.parseOnboarding(request.toString(), binary)).isEqualTo(plain);
        assertThat(binary.getProperty(InboundRequests.TENANT_ID)).isEqualTo(request.get("tenant_id").asText());
    }

    @Property(tries = 500, seed = "20261201")
    void aBrokenCloudEventIsRefusedWithItsReason(@ForAll("requests") ObjectNode request, @ForAll("attributes") Map<String, String> attributes,
                                                @ForAll("faults") Fault fault, @ForAll boolean binaryMode) {
        ObjectNode event = JSON.createObjectNode();
        attributes.forEach(event::put);
        event.set("data", request);
        Map<String, Object> headers = new LinkedHashMap<>();
        fault.breaking().accept(event, headers);
        String value;
        if (binaryMode && !headers.containsKey("content-type")) {
            event.fields().forEachRemaining(f -> {
                if (!f.getKey().equals("data")) {
                    headers.put("ce_" + f.getKey(), bytes(f.getValue().isTextual() ? f.getValue().asText() : f.getValue().toString()));
                }
            });
            value = event.has("data") ? event.get("data").toString() : "";
        } else {
            value = event.toString();
        }
        Throwable refused = catchThrowable(() -> inbound.parseOnboarding(value, exchange(headers)));
        assertThat(refused).as(fault.name()).isInstanceOf(RejectedInputException.class);
        RejectedInputException rejection = (RejectedInputException) refused;
        assertThat(rejection.reason()).as(fault.name()).isIn(CloudEventInput.REASON, "invalid onboarding request", "not valid JSON");
        assertThat(rejection.errors()).as(fault.name()).isNotEmpty().allSatisfy(error -> assertThat(error).isNotBlank());
    }

    @Example
    void eachFaultSaysWhatIsWrong() {
        String data = "{\"request_id\":\"r\",\"tenant_id\":\"t\"}";
        assertThat(reasons("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\"}", Map.of()))
                .anyMatch(e -> e.contains("data"));
        assertThat(reasons("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"data\":\"" + data.replace("\"", "\\\"") + "\"}", Map.of()))
                .anyMatch(e -> e.contains("/data") && e.contains("object"));
        assertThat(reasons("{\"specversion\":\"0.3\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"data\":" + data + "}", Map.of()))
                .anyMatch(e -> e.contains("specversion"));
        assertThat(reasons(data, Map.of("content-type", bytes("application/cloudevents+json"), "ce_specversion", bytes("1.0"))))
                .anyMatch(e -> e.contains("conflicting headers"));
        assertThat(reasons(data, Map.of("content-type", bytes("application/cloudevents+json"))))
                .anyMatch(e -> e.contains("not one"));
        assertThat(reasons("[" + data + "]", Map.of("content-type", bytes("application/cloudevents-batch+json"))))
                .anyMatch(e -> e.contains("batched"));
        assertThat(reasons(data, Map.of("ce_specversion", bytes("1.0"), "ce_id", bytes("1"), "ce_source", bytes("s"), "ce_type", bytes("t"),
                "content-type", bytes("text/plain")))).anyMatch(e -> e.contains("datacontenttype"));
        assertThat(reasons("", Map.of("ce_specversion", bytes("1.0"), "ce_id", bytes("1"), "ce_source", bytes("s"), "ce_type", bytes("t"))))
                .anyMatch(e -> e.contains("empty"));
        assertThat(reasons(data, Map.of("ce_specversion", bytes("1.0"), "ce_source", bytes("s"), "ce_type", bytes("t"))))
                .anyMatch(e -> e.contains("ce_") && e.contains("id"));
    }

    @Example
    void aPlainRequestWithOtherHeadersIsStillPlain() {
        String data = "{\"request_id\":\"r\",\"tenant_id\":\"t\"}";
        assertThat(inbound.parseOnboarding(data, exchange(Map.of("content-type", bytes("application/json"), "traceparent", bytes("00-abc")))).tenantId())
                .isEqualTo("t");
    }

    List<String> reasons(String value, Map<String, Object> headers) {
        Throwable refused = catchThrowable(() -> inbound.parseOnboarding(value, exchange(headers)));
        assertThat(refused).isInstanceOf(RejectedInputException.class);
        return ((RejectedInputException) refused).errors();
    }

    record Fault(String name, java.util.function.BiConsumer<ObjectNode, Map<String, Object>> breaking) {
        @Override
        public String toString() {
            return name;
        }
    }

    @Provide
    Arbitrary<Fault> faults() {
        Arbitrary<String> junk = Arbitraries.strings().ofMaxLength(12);
        return Arbitraries.oneOf(
                Arbitraries.just(new Fault("no data", (e, h) -> e.remove("data"))),
                Arbitraries.of("\"text\"", "42", "[]", "[{\"request_id\":\"r\"}]", "null", "true", "\"{\\\"request_id\\\":\\\"r\\\"}\"")
                        .map(d -> new Fault("data " + d, (e, h) -> e.set("data", read(d)))),
                junk.filter(s -> !s.equals("1.0")).map(v -> new Fault("specversion " + v, (e, h) -> e.put("specversion", v))),
                Arbitraries.of("id", "source", "type").map(a -> new Fault("no " + a, (e, h) -> e.remove(a))),
                Arbitraries.of("id", "source", "type").map(a -> new Fault("empty " + a, (e, h) -> e.put(a, ""))),
                Arbitraries.just(new Fault("data_base64", (e, h) -> e.put("data_base64", "eyJ9"))),
                Arbitraries.of("text/plain", "application/xml", "application/octet-stream", "image/png")
                        .map(t -> new Fault("datacontenttype " + t, (e, h) -> e.put("datacontenttype", t))),
                Arbitraries.just(new Fault("conflicting headers", (e, h) -> {
                    h.put("content-type", bytes("application/cloudevents+json"));
                    h.put("ce_specversion", bytes("1.0"));
                })),
                Arbitraries.of("application/cloudevents-batch+json", "application/cloudevents+avro", "application/cloudevents+protobuf")
                        .map(t -> new Fault("format " + t, (e, h) -> h.put("content-type", bytes(t)))),
                Arbitraries.just(new Fault("oversized data", (e, h) -> {
                    var many = JSON.createArrayNode();
                    for (int i = 0; i < 10_001; i++) {
                        many.add("m" + i + "@contoso.example");
                    }
                    ((ObjectNode) e.get("data")).set("mailboxes", many);
                })),
                Arbitraries.just(new Fault("request inside is invalid", (e, h) -> ((ObjectNode) e.get("data")).put("provider", "google"))));
    }

    @Provide
    Arbitrary<ObjectNode> requests() {
        Arbitrary<String> id = Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(40);
        Arbitrary<List<String>> mailboxes = Arbitraries.of("ada@contoso.example", "chloé@bücher.de", "Bob@Fabrikam.Technology", "not an address")
                .list().ofMaxSize(4);
        return Combinators.combine(id, id, mailboxes).as((requestId, tenantId, list) -> {
            ObjectNode request = JSON.createObjectNode().put("request_id", requestId).put("tenant_id", tenantId);
            if (!list.isEmpty()) {
                request.set("mailboxes", JSON.valueToTree(list));
            }
            return request;
        });
    }

    @Provide
    Arbitrary<Map<String, String>> attributes() {
        Arbitrary<String> text = Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(20);
        return Combinators.combine(text, text, text, Arbitraries.of("", "contoso", "ünïcode subject")).as((id, source, type, subject) -> {
            Map<String, String> attributes = new LinkedHashMap<>();
            attributes.put("specversion", "1.0");
            attributes.put("id", id);
            attributes.put("source", "/upstream/" + source);
            attributes.put("type", "com.example." + type);
            if (!subject.isEmpty()) {
                attributes.put("subject", subject);
            }
            attributes.put("time", "2026-12-01T10:00:00Z");
            return attributes;
        });
    }

    static com.fasterxml.jackson.databind.JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static Exchange exchange(Map<String, Object> headers) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeaders(new LinkedHashMap<>(headers));
        return exchange;
    }
}
