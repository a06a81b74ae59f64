package io.consentbridge.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.ValidationMessage;
import io.consentbridge.inbound.InboundRequests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The published JSON Schema of each event type's data, {@code config/schemas/<type>.data.schema.json}. */
public final class EventSchemas {
    static final Path DIRECTORY = Path.of("config", "schemas");
    private static final JsonSchemaFactory FACTORY = InboundRequests.SCHEMAS;
    private static final SchemaValidatorsConfig STRICT = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
    private static final Map<String, JsonSchema> LOADED = new ConcurrentHashMap<>();

    private EventSchemas() {
    }

    static Path file(String type) {
        return DIRECTORY.resolve(type + ".data.schema.json");
    }

    /** What is wrong with {@code data} for an event of this type; empty when it fits its schema. */
    public static List<String> problems(String type, JsonNode data) {
        JsonSchema schema = LOADED.computeIfAbsent(type, t -> {
            try {
                return FACTORY.getSchema(Files.readString(file(t)), STRICT);
            } catch (IOException e) {
                throw new UncheckedIOException("no schema for event type " + t, e);
            }
        });
        return schema.validate(data).stream().map(ValidationMessage::getMessage).sorted().toList();
    }
}
