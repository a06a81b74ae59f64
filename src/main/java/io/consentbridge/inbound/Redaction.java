package io.consentbridge.inbound;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Replaces secrets in rejected input before it is published to the DLQ or logged. */
public final class Redaction {
    public static final String MASK = "***";
    private static final Pattern SECRET_KEY = Pattern.compile("(?i).*(secret|password|api[_-]?key|token).*");
    /**
     * For text that is not valid JSON: any secret-named key, quoted or not, followed by ':' or '=',
     * and its value, double-quoted, single-quoted or bare, however broken the rest is.
     */
    private static final Pattern SECRET_PAIR = Pattern.compile(
            "(?i)([\"']?[\\w.-]*(?:secret|password|api[_-]?key|token)[\\w.-]*[\"']?\\s*[:=]\\s*)"
                    + "(?:\"(?:[^\"\\\\]|\\\\.)*\"?|'(?:[^'\\\\]|\\\\.)*'?|[^,}&\\s]*)");

    private Redaction() {
    }

    public static boolean isSecretField(String name) {
        return SECRET_KEY.matcher(name.toLowerCase(Locale.ROOT)).matches();
    }

    /** A copy of the JSON with every secret-named field's value masked, at any depth. */
    public static JsonNode redact(JsonNode node) {
        JsonNode copy = node.deepCopy();
        mask(copy);
        return copy;
    }

    public static String redactText(String raw) {
        return SECRET_PAIR.matcher(raw).replaceAll("$1\"" + MASK + "\"");
    }

    private static void mask(JsonNode node) {
        if (node instanceof ObjectNode object) {
            for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                if (isSecretField(field.getKey()) && !field.getValue().isContainerNode()) {
                    field.setValue(object.textNode(MASK));
                } else {
                    mask(field.getValue());
                }
            }
        } else if (node instanceof ArrayNode array) {
            array.forEach(Redaction::mask);
        }
    }
}
