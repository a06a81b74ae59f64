package io.consentbridge.inbound;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.apache.camel.Exchange;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Parses inbound Kafka records and checks them against the JSON Schemas in {@code config/schemas/}.
 * Anything that can never be processed becomes a {@link RejectedInputException}, which the
 * routes' error handling turns into a {@code request.rejected} DLQ event.
 */
public class InboundRequests {
    /** Exchange properties the routes and the DLQ event read. */
    public static final String TENANT_ID = "tenantId";
    public static final String REQUEST_ID = "requestId";

    /** Kafka's default record limit is 1 MB; a larger value is refused before parsing. */
    static final int MAX_RECORD_CHARS = 2 * 1024 * 1024;

    /** Strict: a duplicate key or anything after the object makes the record ambiguous, so it is refused. */
    private final ObjectMapper mapper = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(32).maxStringLength(64 * 1024).maxNumberLength(64).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final JsonSchema onboardingSchema = load("schemas/onboarding-request.schema.json");
    private final JsonSchema mailboxSchema = load("schemas/mailbox-request.schema.json");

    public OnboardingRequest parseOnboarding(String raw, Exchange exchange) {
        JsonNode json = validated(raw, onboardingSchema, "invalid onboarding request", exchange);
        return new OnboardingRequest(
                json.get("request_id").asText(), json.get("tenant_id").asText(),
                text(json, "azure_tenant"), text(json, "client_id"), text(json, "client_secret"),
                text(json, "admin_email"), mailboxes(json));
    }

    public MailboxRequest parseMailboxes(String raw, Exchange exchange) {
        JsonNode json = validated(raw, mailboxSchema, "invalid mailbox request", exchange);
        return new MailboxRequest(json.get("request_id").asText(), json.get("tenant_id").asText(), mailboxes(json));
    }

    /**
     * The original input for the DLQ: the JSON with secrets masked; or, when it was not JSON, the
     * raw text, unless that text names a secret anywhere: then it is withheld, since a secret in
     * broken input cannot be masked reliably.
     */
    public Object redactedOriginal(String raw) {
        if (raw == null) {
            return null;
        }
        try {
            return Redaction.redact(mapper.readTree(raw));
        } catch (IOException | RuntimeException notJson) {
            if (Redaction.mentionsSecret(raw)) {
                return "(not JSON; " + raw.length() + " characters withheld because they may hold a secret)";
            }
            return raw.length() > 4096 ? raw.substring(0, 4096) + "...(truncated)" : raw;
        }
    }

    private JsonNode validated(String raw, JsonSchema schema, String reason, Exchange exchange) {
        if (raw == null || raw.isBlank()) {
            throw new RejectedInputException("empty record", List.of("the record value is empty"));
        }
        if (raw.length() > MAX_RECORD_CHARS) {
            throw new RejectedInputException("record too large", List.of("the record has " + raw.length() + " characters; at most " + MAX_RECORD_CHARS + " are accepted"));
        }
        JsonNode json;
        try {
            json = mapper.readTree(raw);
        } catch (StreamConstraintsException e) {
            // Names the limit that was passed; echoes no input.
            throw new RejectedInputException("not valid JSON", List.of(e.getOriginalMessage()));
        } catch (JsonProcessingException e) {
            // The parser's own message quotes the offending token, which may be a secret: say only where.
            JsonLocation at = e.getLocation();
            throw new RejectedInputException("not valid JSON", List.of("malformed JSON"
                    + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())));
        }
        if (json != null && json.isObject()) {
            // Known ids go on the exchange early, so even a rejection can be keyed by tenant.
            if (json.path("tenant_id").isTextual()) {
                exchange.setProperty(TENANT_ID, json.get("tenant_id").asText());
            }
            if (json.path("request_id").isTextual()) {
                exchange.setProperty(REQUEST_ID, json.get("request_id").asText());
            }
        }
        Set<ValidationMessage> problems = schema.validate(json);
        if (!problems.isEmpty()) {
            List<String> errors = new ArrayList<>();
            problems.forEach(p -> errors.add(p.getMessage()));
            errors.sort(null);
            throw new RejectedInputException(reason, errors);
        }
        List<String> unfit = new ArrayList<>();
        checkFits(json, "", unfit);
        if (!unfit.isEmpty()) {
            throw new RejectedInputException(reason, unfit);
        }
        return json;
    }

    /**
     * What the schema cannot say: no NUL characters (PostgreSQL refuses them), and lengths as the
     * ledger counts them (UTF-16 units, where the schema counts code points).
     */
    private static void checkFits(JsonNode node, String path, List<String> problems) {
        if (node.isTextual()) {
            String text = node.asText();
            if (text.indexOf('\u0000') >= 0) {
                problems.add(path + ": contains a NUL character");
            }
            int max = path.equals("/azure_tenant") ? 255 : path.startsWith("/mailboxes") || path.equals("/admin_email") ? 320 : 128;
            if (!path.equals("/client_secret") && !path.equals("/client_id") && text.length() > max) {
                problems.add(path + ": must be at most " + max + " UTF-16 code units long");
            }
        } else if (node.isObject()) {
            node.fields().forEachRemaining(f -> checkFits(f.getValue(), path + "/" + f.getKey(), problems));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                checkFits(node.get(i), path + "/" + i, problems);
            }
        }
    }

    private static String text(JsonNode json, String field) {
        JsonNode value = json.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    /** Mailboxes trimmed, lower-cased (Microsoft 365 addresses are case-insensitive) and de-duplicated. */
    private static List<String> mailboxes(JsonNode json) {
        Set<String> unique = new LinkedHashSet<>();
        json.path("mailboxes").forEach(m -> unique.add(m.asText().trim().toLowerCase(Locale.ROOT)));
        return List.copyOf(unique);
    }

    private static JsonSchema load(String resource) {
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        try (InputStream in = InboundRequests.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("schema not on the class path: " + resource);
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(text, config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
