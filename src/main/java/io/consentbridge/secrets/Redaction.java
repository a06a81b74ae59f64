package io.consentbridge.secrets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Keeps secrets out of rejected input before it is published to the DLQ or logged. */
public final class Redaction {
    public static final String MASK = "***";
    private static final Pattern SECRET_WORD = Pattern.compile("(?i)(secret|password|passwd|api[_-]?key|token)");
    /**
     * What follows a secret-named key up to its value: a closing quote (maybe
     * escaped, as in JSON inside a JSON string), ':' or '=', then the value: double-quoted (maybe
     * escaped), single-quoted or bare. Used with {@code lookingAt} from the end of each secret
     * word, so the key is never scanned twice; possessive quantifiers never backtrack.
     */
    private static final Pattern SECRET_VALUE = Pattern.compile(
            "(?:\\\\?[\"'])?\\s*+[:=]\\s*+"
                    + "(\\\\\"(?:[^\\\\]|\\\\[^\"])*+(?:\\\\\")?"
                    + "|\"[^\"\\\\]*+(?:\\\\.[^\"\\\\]*+)*+\"?"
                    + "|'[^'\\\\]*+(?:\\\\.[^'\\\\]*+)*+'?"
                    + "|[^,}&\\s]*+)");

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

    /**
     * Masks secret values in free text (an error message, a proxy's error page): every value that
     * follows a secret-named key, in JSON, form or {@code key=value} style, becomes {@code "***"}.
     * Linear time: each secret word is found once, and its value is matched from there.
     */
    public static String redactText(String raw) {
        if (raw == null) {
            return null;
        }
        Matcher word = SECRET_WORD.matcher(raw);
        Matcher value = SECRET_VALUE.matcher(raw);
        StringBuilder out = null;
        int copied = 0;
        int from = 0;
        while (from < raw.length() && word.find(from)) {
            // The rest of the key: every secret word inside one key ends here, so it is scanned once.
            int keyEnd = word.end();
            while (keyEnd < raw.length() && isKeyChar(raw.charAt(keyEnd))) {
                keyEnd++;
            }
            value.region(keyEnd, raw.length());
            if (value.lookingAt() && value.start(1) >= copied) {
                if (out == null) {
                    out = new StringBuilder(raw.length());
                }
                out.append(raw, copied, value.start(1)).append('"').append(MASK).append('"');
                copied = value.end(1);
                from = Math.max(value.end(), keyEnd);
            } else {
                from = Math.max(keyEnd, word.end());
            }
        }
        return out == null ? raw : out.append(raw, copied, raw.length()).toString();
    }

    private static boolean isKeyChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
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
