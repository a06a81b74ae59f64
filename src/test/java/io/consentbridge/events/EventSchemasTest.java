package io.consentbridge.events;

import io.consentbridge.inbound.InboundRequests;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaId;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The event catalogue a consumer reads first: {@code docs/asyncapi.yaml} is a valid AsyncAPI 3.0
 * document, names every topic and event type of the contract (§1, §2, §5), points at the JSON
 * Schemas in {@code config/schemas/}, and each of its examples is valid against what it points at.
 * No broker: files only. (The AsyncAPI CLI checks more, by hand: see src/test/resources/asyncapi.)
 */
class EventSchemasTest {
    /** Contract §2: every outbound event type, and the topic (default name) it is published on. */
    static final Map<String, String> EVENT_TOPICS = new LinkedHashMap<>();

    static {
        EVENT_TOPICS.put("consent.url.issued", "tenant-consent-urls");
        for (String type : List.of("consent.granted", "consent.denied", "consent.expired", "grant.created", "grant.failed",
                "grant.expired", "grant.restored", "grant.deleted", "tenant.attention_needed", "tenant.offboarded",
                "credential.rotated", "credential.secret_expiring", "reconciliation.completed")) {
            EVENT_TOPICS.put(type, "tenant-onboarding-results");
        }
        EVENT_TOPICS.put("request.rejected", "tenant-onboarding-dlq");
    }

    /** Contract §1: every topic the bundle reads or writes, the variable that renames it, and what the bundle does on it. */
    record Topic(String address, String env, Set<String> actions) {
    }

    static final List<Topic> TOPICS = List.of(
            new Topic("tenant-onboarding-requests", "ONBOARDING_TOPIC", Set.of("receive")),
            new Topic("tenant-mailbox-requests", "MAILBOX_TOPIC", Set.of("receive")),
            new Topic("tenant-admin-commands", "COMMAND_TOPIC", Set.of("receive")),
            new Topic("tenant-consent-urls", "CONSENT_URL_TOPIC", Set.of("send")),
            new Topic("tenant-onboarding-results", "RESULT_TOPIC", Set.of("send")),
            new Topic("tenant-onboarding-dlq", "DLQ_TOPIC", Set.of("send")));

    static final Path DOCUMENT = Path.of("docs/asyncapi.yaml").toAbsolutePath();
    static final Path SCHEMAS = Path.of("config/schemas").toAbsolutePath();
    static final ObjectMapper JSON = new ObjectMapper();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Formats are assertions here, as in the bundle's own input checks. */
    static final SchemaValidatorsConfig CONFIG = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
    /** The AsyncAPI specification's schema, and the document's own schemas (AsyncAPI Schema = draft-07 and more). */
    static final JsonSchemaFactory DRAFT_07 = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7);
    /** The schema files; {@code format: email} judged as the bundle judges it. */
    static final JsonSchemaFactory DRAFT_2020_12 = InboundRequests.SCHEMAS;

    final JsonNode document = read(DOCUMENT);

    @Test
    void theDocumentIsValidAsyncApi300() throws IOException {
        JsonSchema specification;
        try (InputStream in = getClass().getResourceAsStream("/asyncapi/3.0.0-without-$id.json")) {
            assertThat(in).as("the AsyncAPI 3.0.0 schema in test resources").isNotNull();
            specification = DRAFT_07.getSchema(JSON.readTree(in), CONFIG);
        }
        assertThat(messages(specification.validate(document))).isEmpty();
        // The check can fail: an unknown field and a wrong action are caught.
        ObjectNode broken = document.deepCopy();
        broken.put("topics", "none");
        ((ObjectNode) broken.path("operations").path("sendResults")).put("action", "publish");
        assertThat(messages(specification.validate(broken))).hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void everyEventTypeHasASchemaFileAndAMessageOnItsTopic() {
        for (String type : EVENT_TOPICS.keySet()) {
            assertThat(SCHEMAS.resolve(type + ".data.schema.json")).as("schema of %s's data", type).isRegularFile();
        }
        Map<String, String> topicOfType = new TreeMap<>();
        document.path("channels").fields().forEachRemaining(channel -> channel.getValue().path("messages").forEach(ref -> {
            JsonNode message = message(ref);
            topicOfType.put(message.path("name").asText(), channel.getValue().path("address").asText());
        }));
        EVENT_TOPICS.forEach((type, topic) -> assertThat(topicOfType).as("the message of %s", type).containsEntry(type, topic));
    }

    @Test
    void everyTopicHasAChannelWithItsVariableAndTheBundlesOperations() throws IOException {
        Map<String, String> channelOf = new TreeMap<>();
        document.path("channels").fields().forEachRemaining(c -> channelOf.put(c.getValue().path("address").asText(), c.getKey()));
        for (Topic topic : TOPICS) {
            assertThat(channelOf).as("channels").containsKey(topic.address());
            JsonNode channel = document.path("channels").path(channelOf.get(topic.address()));
            if (topic.env() != null) {
                assertThat(channel.path("x-env").asText()).isEqualTo(topic.env());
                assertThat(channel.path("description").asText()).contains(topic.env());
            }
            Set<String> actions = new TreeSet<>();
            document.path("operations").forEach(op -> {
                if (op.path("channel").path("$ref").asText().equals("#/channels/" + channelOf.get(topic.address()))) {
                    actions.add(op.path("action").asText());
                    // An operation lists only its channel's messages.
                    op.path("messages").forEach(m -> assertThat(m.path("$ref").asText())
                            .startsWith("#/channels/" + channelOf.get(topic.address()) + "/messages/"));
                    op.path("messages").forEach(m -> assertThat(document.at(pointer(m.path("$ref").asText())).isMissingNode()).isFalse());
                }
            });
            assertThat(actions).as("operations on %s", topic.address()).isEqualTo(topic.actions());
        }

        // Each topic default in application.properties is the channel's address.
        Properties settings = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of("config/application.properties"))) {
            settings.load(in);
        }
        for (String key : settings.stringPropertyNames()) {
            if (key.startsWith("topics.")) {
                List<String> addresses = new ArrayList<>();
                document.path("channels").forEach(c -> {
                    if (c.path("x-property").asText().equals(key)) {
                        addresses.add(c.path("address").asText());
                    }
                });
                assertThat(addresses).as("channel of %s", key).containsExactly(settings.getProperty(key).trim());
            }
        }
    }

    @Test
    void everyMessageHasAKeyHeadersAndExamplesValidAgainstItsSchemas() {
        List<String> problems = new ArrayList<>();
        int examples = 0;
        Iterator<Map.Entry<String, JsonNode>> channels = document.path("channels").fields();
        while (channels.hasNext()) {
            JsonNode channel = channels.next().getValue();
            boolean internal = channel.path("x-internal").asBoolean();
            for (JsonNode ref : channel.path("messages")) {
                JsonNode message = withTraits(message(ref));
                String name = message.path("name").asText();
                String where = channel.path("address").asText() + " " + name;
                assertThat(name).as("name of a message on %s", where).isNotBlank();
                JsonNode key = message.path("bindings").path("kafka").path("key");
                assertThat(key.isMissingNode()).as("%s: bindings.kafka.key", where).isFalse();
                assertThat(message.path("examples").size()).as("%s: examples", where).isPositive();
                boolean outbound = EVENT_TOPICS.containsKey(name);
                if (outbound) {
                    assertThat(message.path("contentType").asText()).isEqualTo("application/cloudevents+json");
                    assertThat(message.path("headers").path("required").toString()).as("%s: headers", where).contains("content-type");
                    List<String> dataRefs = new ArrayList<>();
                    collectRefs(message.path("payload"), "", dataRefs);
                    assertThat(dataRefs).as("%s: the envelope and the data schema file", where)
                            .containsExactly("#/components/schemas/CloudEvent @ ", "../config/schemas/" + name + ".data.schema.json @ /data");
                }
                for (JsonNode example : message.path("examples")) {
                    examples++;
                    String at = where + " example " + example.path("name").asText("#" + examples);
                    JsonNode payload = example.path("payload");
                    // The parts written in the document itself (type const, required subject), refs aside.
                    problems.addAll(prefixed(at + " payload", draft07(withoutRefs(message.path("payload"))).validate(payload)));
                    // Each $ref'd part: the envelope against its component, data (or the request) against its file.
                    validateRefs(message.path("payload"), payload, at, problems);
                    if (!message.path("headers").isMissingNode()) {
                        JsonNode headers = example.has("headers") ? example.get("headers") : JsonNodeFactory.instance.objectNode();
                        problems.addAll(prefixed(at + " headers", schemaAt(message.path("headers")).validate(headers)));
                    } else {
                        assertThat(internal).as("%s: only the internal topic has records without headers", at).isTrue();
                    }
                    JsonNode body = payload.path("data").isObject() ? payload.path("data") : payload;
                    problems.addAll(prefixed(at + " key", schemaAt(key).validate(body.path("tenant_id"))));
                    if (outbound) {
                        String tenant = body.path("tenant_id").isNull() ? null : body.path("tenant_id").asText();
                        String subject = payload.path("subject").isMissingNode() ? null : payload.path("subject").asText();
                        if (!Objects.equals(subject, tenant)) {
                            problems.add(at + ": subject " + subject + " is not the tenant_id " + tenant);
                        }
                    }
                }
            }
        }
        assertThat(problems).isEmpty();
        assertThat(examples).isGreaterThanOrEqualTo(EVENT_TOPICS.size() + 3);
    }

    @Test
    void everySchemaFileIsAValidDraft202012Schema() throws IOException {
        JsonSchema metaSchema = DRAFT_2020_12.getSchema(SchemaLocation.of(SchemaId.V202012), CONFIG);
        List<Path> files;
        try (Stream<Path> all = Files.list(SCHEMAS)) {
            files = all.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(EVENT_TOPICS.size() + 3);
        for (Path file : files) {
            JsonNode schema = read(file);
            assertThat(schema.path("$schema").asText()).as("%s: $schema", file.getFileName()).isEqualTo(SchemaId.V202012);
            assertThat(messages(metaSchema.validate(schema))).as("%s against the 2020-12 meta-schema", file.getFileName()).isEmpty();
            fileSchema(file).initializeValidators();
        }
        // The meta-schema check can fail.
        assertThat(metaSchema.validate(JSON.readTree("{\"type\": \"objekt\", \"required\": \"email\"}"))).isNotEmpty();
    }

    @Test
    void theCommandSchemaChecksEachCommandsOwnFields() throws IOException {
        JsonSchema commands = fileSchema(SCHEMAS.resolve("admin-command.schema.json"));
        for (String valid : List.of(
                "{\"request_id\":\"c1\",\"tenant_id\":\"t\",\"command\":\"offboard\"}",
                "{\"request_id\":\"c2\",\"tenant_id\":\"t\",\"command\":\"remove_mailboxes\",\"mailboxes\":[\"ada@t.example\",\"not an address\"]}",
                "{\"request_id\":\"c3\",\"tenant_id\":\"t\",\"command\":\"rotate_secret\",\"client_id\":\"a\",\"client_secret\":\"s\"}",
                "{\"request_id\":\"c4\",\"tenant_id\":\"t\",\"command\":\"rotate_secret\",\"client_id\":\"a\",\"client_secret\":\"s\",\"client_secret_expires_at\":\"2027-06-01T00:00:00Z\"}",
                "{\"request_id\":\"c5\",\"tenant_id\":\"t\",\"command\":\"reconsent\"}",
                "{\"request_id\":\"c6\",\"tenant_id\":\"t\",\"command\":\"reconcile\"}")) {
            assertThat(messages(commands.validate(JSON.readTree(valid)))).as(valid).isEmpty();
        }
        for (String invalid : List.of(
                "{\"request_id\":\"c1\",\"tenant_id\":\"t\",\"command\":\"delete_everything\"}",
                "{\"request_id\":\"c2\",\"tenant_id\":\"t\",\"command\":\"remove_mailboxes\"}",
                "{\"request_id\":\"c2\",\"tenant_id\":\"t\",\"command\":\"remove_mailboxes\",\"mailboxes\":[]}",
                "{\"request_id\":\"c2\",\"tenant_id\":\"t\",\"command\":\"remove_mailboxes\",\"mailboxes\":[42]}",
                "{\"request_id\":\"c3\",\"tenant_id\":\"t\",\"command\":\"rotate_secret\",\"client_id\":\"a\"}",
                "{\"request_id\":\"c3\",\"tenant_id\":\"t\",\"command\":\"rotate_secret\",\"client_id\":\"a\",\"client_secret\":\"s\",\"client_secret_expires_at\":\"next June\"}",
                "{\"request_id\":\"c4\",\"tenant_id\":\"t\",\"command\":\"offboard\",\"mailboxes\":[\"ada@t.example\"]}",
                "{\"request_id\":\"c5\",\"tenant_id\":\"t\",\"command\":\"reconsent\",\"client_secret\":\"s\"}",
                "{\"request_id\":\" \",\"tenant_id\":\"t\",\"command\":\"reconcile\"}",
                "{\"tenant_id\":\"t\",\"command\":\"reconcile\"}",
                "{\"request_id\":\"c6\",\"tenant_id\":\"t\",\"command\":\"reconcile\",\"extra\":1}")) {
            assertThat(commands.validate(JSON.readTree(invalid))).as(invalid).isNotEmpty();
        }
    }

    // ---- the document's references --------------------------------------------------------

    /** A channel's message: its $ref resolved. */
    JsonNode message(JsonNode ref) {
        JsonNode message = ref.has("$ref") ? document.at(pointer(ref.get("$ref").asText())) : ref;
        assertThat(message.isMissingNode()).as("message %s", ref).isFalse();
        return message;
    }

    /** The message with its traits applied (JSON merge patch, the message's own fields winning). */
    JsonNode withTraits(JsonNode message) {
        ObjectNode merged = JsonNodeFactory.instance.objectNode();
        for (JsonNode trait : message.path("traits")) {
            merge(merged, trait.has("$ref") ? document.at(pointer(trait.get("$ref").asText())) : trait);
        }
        ObjectNode own = message.deepCopy();
        own.remove("traits");
        merge(merged, own);
        return merged;
    }

    static void merge(ObjectNode target, JsonNode patch) {
        patch.fields().forEachRemaining(f -> {
            if (f.getValue().isObject() && target.path(f.getKey()).isObject() && !f.getValue().has("$ref")) {
                merge((ObjectNode) target.get(f.getKey()), f.getValue());
            } else {
                target.set(f.getKey(), f.getValue().deepCopy());
            }
        });
    }

    /** Each $ref in a payload schema with the instance location it applies to ("" = the whole payload). */
    static void collectRefs(JsonNode schema, String at, List<String> refs) {
        if (schema.has("$ref")) {
            refs.add(schema.get("$ref").asText() + " @ " + at);
        }
        schema.path("allOf").forEach(part -> collectRefs(part, at, refs));
        schema.path("properties").fields().forEachRemaining(p -> collectRefs(p.getValue(), at + "/" + p.getKey(), refs));
    }

    /** Validates each part of {@code instance} that a $ref of {@code schema} applies to against the referenced schema. */
    void validateRefs(JsonNode schema, JsonNode instance, String at, List<String> problems) {
        assertThat(schema.has("anyOf") || schema.has("oneOf")).as("%s: anyOf/oneOf in a payload is not followed by this test", at).isFalse();
        if (schema.has("$ref")) {
            problems.addAll(prefixed(at + " " + schema.get("$ref").asText(), schemaAt(schema).validate(instance)));
        }
        schema.path("allOf").forEach(part -> validateRefs(part, instance, at, problems));
        schema.path("properties").fields().forEachRemaining(p -> {
            if (instance.has(p.getKey())) {
                validateRefs(p.getValue(), instance.get(p.getKey()), at + " /" + p.getKey(), problems);
            }
        });
    }

    /** The schema a node is or refers to: a component of the document (draft-07) or a file relative to docs/ (its own $schema). */
    JsonSchema schemaAt(JsonNode node) {
        if (!node.has("$ref")) {
            return draft07(node);
        }
        String ref = node.get("$ref").asText();
        if (ref.startsWith("#")) {
            JsonNode target = document.at(pointer(ref));
            assertThat(target.isMissingNode()).as("%s resolves", ref).isFalse();
            // Components are validated on their own: they must not refer further.
            assertThat(target.findValue("$ref")).as("%s refers to nothing further", ref).isNull();
            return draft07(target);
        }
        Path file = DOCUMENT.getParent().resolve(ref).normalize();
        assertThat(file).as("%s, relative to docs/", ref).isRegularFile();
        return fileSchema(file);
    }

    static JsonSchema draft07(JsonNode schema) {
        return DRAFT_07.getSchema(schema, CONFIG);
    }

    static JsonSchema fileSchema(Path file) {
        return DRAFT_2020_12.getSchema(SchemaLocation.of(file.toUri().toString()), read(file), CONFIG);
    }

    /** A copy of a schema with every $ref'd part replaced by {} (anything): those are checked one by one. */
    static JsonNode withoutRefs(JsonNode schema) {
        if (schema.isObject() && schema.has("$ref")) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (schema.isObject()) {
            ObjectNode copy = JsonNodeFactory.instance.objectNode();
            schema.fields().forEachRemaining(f -> copy.set(f.getKey(), withoutRefs(f.getValue())));
            return copy;
        }
        if (schema.isArray()) {
            var copy = JsonNodeFactory.instance.arrayNode();
            schema.forEach(item -> copy.add(withoutRefs(item)));
            return copy;
        }
        return schema;
    }

    static String pointer(String ref) {
        assertThat(ref).as("a local reference").startsWith("#/");
        return ref.substring(1);
    }

    static JsonNode read(Path file) {
        try {
            return (file.toString().endsWith(".yaml") ? YAML : JSON).readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }

    static List<String> messages(Set<ValidationMessage> problems) {
        return problems.stream().map(ValidationMessage::getMessage).sorted().toList();
    }

    static List<String> prefixed(String where, Set<ValidationMessage> problems) {
        return messages(problems).stream().map(m -> where + ": " + m).toList();
    }
}
