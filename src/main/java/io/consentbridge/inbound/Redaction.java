package io.consentbridge.inbound;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Keeps secrets out of rejected input before it is published to the DLQ or logged. */
public final class Redaction {
    public static final String MASK = "***";
    private static final Pattern SECRET_WORD = Pattern.compile("(?i)(secret|password|passwd|api[_-]?key|token)");
    /**
     * A secret-named key, quoted or not, then ':' or '=', then its value: double-quoted,
     * single-quoted or bare. Possessive quantifiers: linear time, no recursion on long values.
     */
    private static final Pattern SECRET_PAIR = Pattern.compile(
            "(?i)([\"']?[\\w.-]*+(?:secret|password|passwd|api[_-]?key|token)[\\w.-]*+[\"']?\\s*+[:=]\\s*+)"
                    + "(?:\"[^\"\\\\]*+(?:\\\\.[^\"\\\\]*+)*+\"?|'[^'\\\\]*+(?:\\\\.[^'\\\\]*+)*+'?|[^,}&\\s]*+)");

    private Redaction() {
    }

    public static boolean isSecretField(String name) {
        return SECRET_WORD.matcher(name.toLowerCase(Locale.ROOT)).find();
    }

    /** True when the text names a secret anywhere, also behind JSON \\u escapes. */
    public static boolean mentionsSecret(String text) {
        return SECRET_WORD.matcher(text).find() || (text.contains("\\u") && SECRET_WORD.matcher(unescape(text)).find());
    }

    /**
     * A copy of the JSON in which every value under a secret-named key (whatever its type) is
     * masked, and every string that itself mentions a secret (double-encoded JSON) is masked too.
     */
    public static JsonNode redact(JsonNode node) {
        JsonNode copy = node.deepCopy();
        if (copy.isTextual() && mentionsSecret(copy.asText())) {
            return TextNode.valueOf(MASK);
        }
        mask(copy);
        return copy;
    }

    /** Masks secret values in free text (such as an error message) in place. */
    public static String redactText(String raw) {
        return SECRET_PAIR.matcher(raw).replaceAll("$1\"" + MASK + "\"");
    }

    private static void mask(JsonNode node) {
        if (node instanceof ObjectNode object) {
            for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                if (isSecretField(field.getKey()) || (field.getValue().isTextual() && mentionsSecret(field.getValue().asText()))) {
                    field.setValue(object.textNode(MASK));
                } else {
                    mask(field.getValue());
                }
            }
        } else if (node instanceof ArrayNode array) {
            for (int i = 0; i < array.size(); i++) {
                if (array.get(i).isTextual() && mentionsSecret(array.get(i).asText())) {
                    array.set(i, array.textNode(MASK));
                } else {
                    mask(array.get(i));
                }
            }
        }
    }

    /** Decodes \\uXXXX escapes, the way a JSON reader would see the text. */
    private static String unescape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 5 < text.length() && text.charAt(i + 1) == 'u') {
                try {
                    out.append((char) Integer.parseInt(text.substring(i + 2, i + 6), 16));
                    i += 5;
                    continue;
                } catch (NumberFormatException notAnEscape) {
                    // keep the backslash as it is
                }
            }
            out.append(c);
        }
        return out.toString();
    }
}
