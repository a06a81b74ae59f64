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
import com.networknt.schema.ExecutionContext;
import com.networknt.schema.Format;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.consentbridge.ops.LogContext;
import io.consentbridge.secrets.Redaction;
import org.apache.camel.Exchange;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

    /** request_id and tenant_id (contract §2, the ledger's columns). */
    static final int MAX_ID_CHARS = 128;
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
    private final JsonSchema commandSchema = load("schemas/admin-command.schema.json");
    private final CloudEventInput cloudEvents = new CloudEventInput(load("schemas/cloudevent-request.schema.json"));

    public OnboardingRequest parseOnboarding(String raw, Exchange exchange) {
        JsonNode json = validated(raw, onboardingSchema, "invalid onboarding request", exchange);
        Mailboxes mailboxes = mailboxes(json);
        return new OnboardingRequest(
                json.get("request_id").asText(), json.get("tenant_id").asText(),
                text(json, "azure_tenant"), text(json, "client_id"), text(json, "client_secret"),
                instant(json, "client_secret_expires_at"), text(json, "admin_email"), mailboxes.valid(), mailboxes.invalid());
    }

    /** A lifecycle command (contract §5); a mailbox string that is no address makes the command invalid. */
    public AdminCommand parseCommand(String raw, Exchange exchange) {
        JsonNode json = validated(raw, commandSchema, "invalid command", exchange);
        Mailboxes mailboxes = mailboxes(json);
        if (!mailboxes.invalid().isEmpty()) {
            List<String> errors = new ArrayList<>();
            mailboxes.invalid().forEach(m -> errors.add("/mailboxes: " + m.problem()));
            throw new RejectedInputException("invalid command", errors);
        }
        return new AdminCommand(json.get("request_id").asText(), json.get("tenant_id").asText(), json.get("command").asText(),
                mailboxes.valid(), text(json, "client_id"), text(json, "client_secret"), instant(json, "client_secret_expires_at"));
    }

    public MailboxRequest parseMailboxes(String raw, Exchange exchange) {
        JsonNode json = validated(raw, mailboxSchema, "invalid mailbox request", exchange);
        Mailboxes mailboxes = mailboxes(json);
        return new MailboxRequest(json.get("request_id").asText(), json.get("tenant_id").asText(), mailboxes.valid(), mailboxes.invalid());
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
            // The DLQ event cuts it to fit the event bound, and says so.
            return raw;
        }
    }

    private JsonNode validated(String raw, JsonSchema schema, String reason, Exchange exchange) {
        // A new record: the log lines about it carry its ids once they are known, never the last record's.
        LogContext.of(null, null);
        Map<String, Object> headers = exchange.getMessage().getHeaders();
        CloudEventInput.Mode mode = CloudEventInput.mode(headers);
        if (raw == null || raw.isBlank()) {
            if (mode == CloudEventInput.Mode.BINARY) {
                throw new RejectedInputException(CloudEventInput.REASON, List.of("binary mode (ce_ headers): the record value (the data) is empty"));
            }
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
        // A CloudEvent's data is the request.
        json = cloudEvents.request(mode, json, headers);
        if (json != null && json.isObject()) {
            // Known ids go on the exchange early, so even a rejection can be keyed by tenant.
            // Only values that could be ids: an over-long one would become an over-long record key.
            String tenantId = null;
            String requestId = null;
            if (json.path("tenant_id").isTextual() && json.get("tenant_id").asText().length() <= MAX_ID_CHARS) {
                tenantId = json.get("tenant_id").asText();
                exchange.setProperty(TENANT_ID, tenantId);
            }
            if (json.path("request_id").isTextual() && json.get("request_id").asText().length() <= MAX_ID_CHARS) {
                requestId = json.get("request_id").asText();
                exchange.setProperty(REQUEST_ID, requestId);
            }
            LogContext.of(tenantId, requestId);
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
            // A mailbox string with a NUL is no address: it gets its own grant.failed, never stored.
            if (text.indexOf('\u0000') >= 0 && !path.startsWith("/mailboxes/")) {
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

    /** An RFC 3339 time the schema has already checked ({@code format: date-time}). */
    private static java.time.Instant instant(JsonNode json, String field) {
        String value = text(json, field);
        if (value == null) {
            return null;
        }
        try {
            // RFC 3339 allows a lower-case "t" and "z"; java.time reads the upper-case ones.
            return java.time.OffsetDateTime.parse(value.toUpperCase(Locale.ROOT)).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            throw new RejectedInputException("invalid request", List.of("/" + field + ": not an RFC 3339 date-time"));
        }
    }

    private static String text(JsonNode json, String field) {
        JsonNode value = json.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    /** The request's mailboxes, split into valid addresses and strings that are not addresses. */
    record Mailboxes(List<String> valid, List<InvalidMailbox> invalid) {
    }

    /**
     * Valid addresses trimmed, lower-cased (Microsoft 365 addresses are case-insensitive) and
     * de-duplicated; a string that is no address is kept as given, with the reason, once per
     * distinct string: it gets its own {@code grant.failed} and does not hold up the others.
     */
    private static Mailboxes mailboxes(JsonNode json) {
        Set<String> valid = new LinkedHashSet<>();
        Set<String> seenInvalid = new java.util.HashSet<>();
        List<InvalidMailbox> invalid = new ArrayList<>();
        for (JsonNode item : json.path("mailboxes")) {
            String given = item.asText();
            String address = given.trim().toLowerCase(Locale.ROOT);
            String problem = MailboxAddress.problem(address);
            if (problem == null) {
                valid.add(address);
            } else if (seenInvalid.add(address)) {
                invalid.add(new InvalidMailbox(given, "not a valid e-mail address: " + problem));
            }
        }
        return new Mailboxes(List.copyOf(valid), List.copyOf(invalid));
    }

    /**
     * {@code format: email} judged by {@link MailboxAddress}: the validator's own check refuses
     * top-level domains it does not list (such as {@code .example}) and is slow on long values.
     */
    private static final Format EMAIL = new Format() {
        @Override
        public String getName() {
            return "email";
        }

        @Override
        public boolean matches(ExecutionContext context, String value) {
            return MailboxAddress.isValid(value);
        }
    };
    /** JSON Schema 2020-12 with {@code format: email} judged by {@link MailboxAddress}: for every schema of the bundle's. */
    public static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.builder(JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012))
            .metaSchema(JsonMetaSchema.builder(JsonMetaSchema.getV202012()).format(EMAIL).build())
            .build();

    static JsonSchema load(String resource) {
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        try (InputStream in = InboundRequests.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("schema not on the class path: " + resource);
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return SCHEMAS.getSchema(text, config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
