package io.consentbridge.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.consentbridge.nylas.NylasStandIn;
import io.consentbridge.support.TopicReader;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Small helpers shared by the recovery tests: their own broker, so nothing here uses SharedKafka. */
final class RecoveryKit {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private RecoveryKit() {
    }

    static List<String> mailboxes(String localPrefix, String domain, int count) {
        List<String> emails = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            emails.add(String.format("%s%03d@%s", localPrefix, i, domain));
        }
        return emails;
    }

    static String onboarding(String requestId, String tenantId, List<String> mailboxes) {
        ObjectNode request = JSON.createObjectNode().put("request_id", requestId).put("tenant_id", tenantId).put("provider", "microsoft");
        mailboxes.forEach(request.putArray("mailboxes")::add);
        return request.toString();
    }

    static KafkaProducer<String, String> producer(String bootstrap) {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
    }

    /** Status code of a GET, or -1 when nothing answered (process down, port not yet bound). */
    static int status(URI uri) {
        try {
            return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    static HttpResponse<String> get(URI uri, String bearer) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The admin's browser: the consent URL on Nylas (302, not followed), then the Location on our callback. */
    static HttpResponse<String> consentVia(String consentUrl) throws IOException, InterruptedException {
        HttpResponse<String> nylasAnswer = get(URI.create(consentUrl), null);
        if (nylasAnswer.statusCode() != 302) {
            throw new AssertionError("Nylas stand-in answered " + nylasAnswer.statusCode() + ": " + nylasAnswer.body());
        }
        return get(URI.create(nylasAnswer.headers().firstValue("Location").orElseThrow()), null);
    }

    static List<JsonNode> events(TopicReader reader, String type, String tenant) {
        return reader.events().stream()
                .filter(e -> type.equals(e.path("type").asText()) && tenant.equals(e.path("subject").asText()))
                .toList();
    }

    /** grant.created (or grant.failed) events of a tenant, by the mailbox they are about. */
    static Map<String, List<JsonNode>> byEmail(TopicReader reader, String type, String tenant) {
        return events(reader, type, tenant).stream().collect(Collectors.groupingBy(
                e -> e.path("data").path("email").asText(), LinkedHashMap::new, Collectors.toList()));
    }

    /** POST /v3/connect/custom calls the stand-in received, counted per mailbox (in arrival order). */
    static Map<String, Integer> grantCallsByEmail(List<NylasStandIn.RecordedRequest> calls) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (NylasStandIn.RecordedRequest call : calls) {
            counts.merge(call.json().path("settings").path("email_address").asText(), 1, Integer::sum);
        }
        return counts;
    }

    static List<NylasStandIn.RecordedRequest> grantCalls(NylasStandIn nylas) {
        return nylas.requests("POST", "/v3/connect/custom");
    }

    static Map<String, String> grantIdsByEmail(NylasStandIn nylas) {
        Map<String, String> ids = new HashMap<>();
        nylas.grants().forEach(g -> ids.put(g.email(), g.id()));
        return ids;
    }

    /** Deletes a folder the test made; failures to delete are ignored (it is under the temp dir). */
    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    static long millisSince(long nanoTime) {
        return (System.nanoTime() - nanoTime) / 1_000_000;
    }
}
