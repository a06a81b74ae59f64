package io.consentbridge.fuzz;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeSet;

/**
 * Generates hostile onboarding and mailbox records: mutations of a valid request (tree and text
 * level) and non-JSON input. A client secret, when present, is the marker {@code SECRET-<n>}, so a
 * leak can be found by plain text search; the marker is never written anywhere else.
 */
final class InboundInputs {
    static final ObjectMapper JSON = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final List<String> ONBOARDING_FIELDS = List.of("request_id", "tenant_id", "provider", "azure_tenant", "client_id",
            "client_secret", "admin_email", "mailboxes");
    static final List<String> MAILBOX_FIELDS = List.of("request_id", "tenant_id", "mailboxes");
    static final List<String> ODD_EMAILS = List.of("a@b", "a@b.c", "@b.com", "a@", "@", "a..b@c.com", ".a@b.com", "a.@b.com",
            "a@b..com", "\"quoted local\"@b.com", "\"a@b\"@c.com", "a@[127.0.0.1]", "a@[IPv6:::1]", "ü@bücher.de", "a@bücher.de",
            "a@xn--bcher-kva.de", "a b@c.com", "a@b.com\n", " a@b.com ", "A@B.COM", "a+tag@b.com", "a@b.com,c@d.com",
            "a@-b.com", "a@b-.com", "x".repeat(64) + "@b.com", "x".repeat(65) + "@b.com", "a@" + "b".repeat(63) + ".com",
            "a@" + "b".repeat(64) + ".com", "a@" + ("b".repeat(60) + ".").repeat(5) + "com", "<script>@x.com", "a@b.com<script>",
            "'OR'1'='1@x.com", "a\u0000@b.com", "\uD83D\uDE00@b.com", "a@\uD83D\uDE00.com", "a@localhost", "a@1.2.3.4",
            "İ@b.com", "i\u0307@b.com", "a@b.com.", "a@.com", "a(comment)@b.com", "a@b.com\u202E", "mailto:a@b.com",
            "a%40b.com", "a@b@c.com", "=?utf-8?q?a?=@b.com", "a" + ".a".repeat(150) + "@b.com",
            "x".repeat(310) + "@b.com", "a@" + "b.".repeat(158) + "com");
    static final List<String> COMMON = List.of("common", "COMMON", "Common", "cOmMoN", "commoN", " common", "common ", "common\n",
            "\ncommon", "common\u0000", "ｃｏｍｍｏｎ", "organizations", "consumers", "common.onmicrosoft.com", "c\u200Bommon");
    static final List<String> PROVIDERS = List.of("microsoft", "Microsoft", "MICROSOFT", "google", "", " microsoft", "microsoft\u0000", "imap");
    static final List<String> UNKNOWN_FIELDS = List.of("x", "mailbox", "tenant", "requestId", "tenant_id ", " tenant_id", "", "__proto__",
            "password", "api_key", "token", "$ref", "\u0000", "\uD83D\uDE00", "constructor", "provider\u0000");
    static final List<String> NON_JSON = List.of("", " ", "\t\r\n", "\u0000", "\uFEFF", "\uFEFF{}", "null", "true", "1", "-0", "\"text\"",
            "[]", "{}", "[{}]", "{\"request_id\"}", "<onboarding><client_secret>x</client_secret></onboarding>",
            "request_id,tenant_id\nr,t", "NaN", "Infinity", "{,}", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "'", "\"", "\\", "}", "{{", "\u00A0",
            "\u2028", "// comment\n{}", "/* c */ {}", "#!", "{\"request_id\":\"r\",\"tenant_id\":\"t\"}\u0000");
    static final String DEEP = "@@DEEP";
    static final List<String> NUMBERS = List.of("1e999999", "-0", "0x10", "01", "NaN", "Infinity", "-Infinity", "1.7976931348623157E309",
            "9".repeat(64), "9".repeat(65), "1" + "0".repeat(200), "0." + "0".repeat(100) + "1", "1e-999999", "+1", ".5", "5.");

    record Input(int n, boolean mailbox, String label, String raw, String secret) {
        /** The value as the app receives it from Kafka: a String serializer turns lone surrogates into '?'. */
        String viaKafka() {
            return new String(raw.getBytes(java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.UTF_8);
        }

        String describe() {
            String shown = raw.length() <= 300 ? raw : raw.substring(0, 300) + "...(" + raw.length() + " chars)";
            return "#" + n + " " + (mailbox ? "mailbox" : "onboarding") + " [" + label + "] " + shown.replace("\n", "\\n").replace("\r", "\\r");
        }
    }

    private InboundInputs() {
    }

    static List<Input> generate(Random r, int count) {
        List<Input> inputs = new ArrayList<>(count);
        for (int n = 0; n < count; n++) {
            inputs.add(one(r, n));
        }
        return inputs;
    }

    static Input one(Random r, int n) {
        boolean mailbox = r.nextInt(5) == 0;
        String marker = "SECRET-" + n;
        TreeSet<String> labels = new TreeSet<>();
        String raw;
        if (r.nextInt(20) == 0) {
            raw = nonJson(r, marker, labels);
        } else {
            ObjectNode tree = mailbox ? baseMailbox(r, n) : baseOnboarding(r, n, marker);
            JsonNode root = tree;
            int mutations = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(4);
            for (int i = 0; i < mutations; i++) {
                root = mutateTree(r, root, mailbox, marker, labels);
            }
            raw = write(root);
            if (r.nextInt(4) == 0) {
                raw = mutateText(r, raw, marker, labels);
            }
        }
        if (labels.isEmpty()) {
            labels.add("unmutated");
        }
        return new Input(n, mailbox, String.join("+", labels), raw, raw.contains(marker) ? marker : null);
    }

    static ObjectNode baseOnboarding(Random r, int n, String marker) {
        ObjectNode o = NODES.objectNode();
        o.put("request_id", "req-fz-" + n);
        o.put("tenant_id", "tenant-fz-" + n);
        if (r.nextBoolean()) {
            o.put("provider", "microsoft");
        }
        if (r.nextBoolean()) {
            o.put("azure_tenant", "t" + n + ".onmicrosoft.com");
        }
        if (r.nextInt(10) < 6) {
            o.put("client_id", "app-" + n);
            o.put("client_secret", marker);
        }
        if (r.nextBoolean()) {
            o.put("admin_email", "admin@t" + n + ".com");
        }
        ArrayNode mailboxes = o.putArray("mailboxes");
        for (int i = r.nextInt(6); i > 0; i--) {
            mailboxes.add("m" + i + "@t" + n + ".com");
        }
        return o;
    }

    static ObjectNode baseMailbox(Random r, int n) {
        ObjectNode o = NODES.objectNode();
        o.put("request_id", "mbx-fz-" + n);
        o.put("tenant_id", "tenant-fz-" + r.nextInt(50));
        ArrayNode mailboxes = o.putArray("mailboxes");
        for (int i = 1 + r.nextInt(5); i > 0; i--) {
            mailboxes.add("m" + i + "@t" + n + ".com");
        }
        return o;
    }

    static JsonNode mutateTree(Random r, JsonNode root, boolean mailbox, String marker, TreeSet<String> labels) {
        if (!(root instanceof ObjectNode o)) {
            return root;
        }
        List<String> fields = mailbox ? MAILBOX_FIELDS : ONBOARDING_FIELDS;
        String field = Hostile.pick(r, fields);
        switch (r.nextInt(17)) {
            case 0 -> {
                labels.add("drop");
                o.remove(field);
            }
            case 1 -> {
                labels.add("retype");
                o.set(field, randomValue(r, 0));
            }
            case 2 -> {
                labels.add("huge-string");
                int length = Hostile.pick(r, List.of(129, 256, 321, 1025, 5000, 65_000, 65_537, 70_000, 300_000));
                String value = Hostile.longText(r, length);
                o.put(field, field.equals("client_secret") ? marker + value : value);
            }
            case 3 -> {
                labels.add("unicode");
                String value = r.nextBoolean() ? Hostile.unicode(r, 1 + r.nextInt(40)) : Hostile.text(r);
                o.put(field, field.equals("client_secret") ? marker + value : value);
            }
            case 4 -> {
                labels.add("deep");
                o.set(field.equals("client_secret") ? "x" : field, deep(r, Hostile.pick(r, List.of(5, 31, 32, 33, 100, 1000, 20_000))));
            }
            case 5 -> {
                labels.add("many-mailboxes");
                int count = Hostile.pick(r, List.of(100, 1000, 9999, 10_000, 10_001, 12_000));
                ArrayNode list = o.putArray("mailboxes");
                for (int i = 0; i < count; i++) {
                    list.add(r.nextInt(20) == 0 ? "M" + (i / 2) + "@Many.Com" : "m" + i + "@many.com");
                }
            }
            case 6 -> {
                labels.add("odd-email");
                String email = Hostile.pick(r, ODD_EMAILS);
                if (!mailbox && r.nextBoolean()) {
                    o.put("admin_email", email);
                } else {
                    ArrayNode list = o.has("mailboxes") && o.get("mailboxes").isArray() ? (ArrayNode) o.get("mailboxes") : o.putArray("mailboxes");
                    list.add(email);
                }
            }
            case 7 -> {
                labels.add("common");
                o.put("azure_tenant", Hostile.pick(r, COMMON));
            }
            case 8 -> {
                labels.add("unknown-field");
                o.set(Hostile.pick(r, UNKNOWN_FIELDS), randomValue(r, 0));
            }
            case 9 -> {
                if (!mailbox) {
                    labels.add("secret-container");
                    o.put("client_id", "app");
                    o.set("client_secret", Hostile.pick(r, List.of(
                            NODES.arrayNode().add(marker),
                            NODES.objectNode().put("value", marker),
                            NODES.arrayNode().add(NODES.objectNode().set("k", NODES.arrayNode().add(marker))))));
                }
            }
            case 10 -> {
                if (!mailbox) {
                    labels.add("provider");
                    o.put("provider", Hostile.pick(r, PROVIDERS));
                }
            }
            case 11 -> {
                labels.add("boundary-id");
                String id = r.nextBoolean() ? "request_id" : "tenant_id";
                int length = Hostile.pick(r, List.of(0, 1, 127, 128, 129, 300));
                o.put(id, Hostile.plain(r, length));
            }
            case 12 -> {
                // Within 128 code points, but up to twice as many UTF-16 units.
                labels.add("astral-id");
                String id = Hostile.pick(r, List.of("request_id", "tenant_id", "azure_tenant"));
                int codePoints = id.equals("azure_tenant") ? 130 + r.nextInt(126) : 65 + r.nextInt(64);
                StringBuilder value = new StringBuilder();
                for (int i = 0; i < codePoints; i++) {
                    value.appendCodePoint(0x1F600 + r.nextInt(0x40));
                }
                o.put(id, value.toString());
            }
            case 13 -> {
                if (!mailbox) {
                    labels.add("half-credentials");
                    o.remove(r.nextBoolean() ? "client_id" : "client_secret");
                }
            }
            case 14 -> {
                labels.add("whitespace-id");
                o.put(r.nextBoolean() ? "request_id" : "tenant_id", Hostile.pick(r, List.of(" ", "   ", "\t", "\u0000", "req\u0000", "\n", "\u200B")));
            }
            case 15 -> {
                if (!mailbox) {
                    // Secret text that fights the non-JSON redaction: quotes, backslashes, line breaks.
                    labels.add("hostile-secret");
                    o.put("client_id", "app");
                    o.put("client_secret", marker + Hostile.pick(r, List.of("\"},{\"x\":\"", "\\", "\\\"", "\n\r", "'", "\u0000", "\":\"", "*/", "\"")));
                }
            }
            default -> {
                labels.add("lone-surrogate");
                String value = Hostile.pick(r, List.of("\uD800", "\uDC00", "a\uD83Db", "\uDE00\uD83D", "x\uDBFF"));
                String target = Hostile.pick(r, List.of("request_id", "tenant_id", "azure_tenant", "client_id", "admin_email"));
                o.put(target, "id" + value);
            }
        }
        if (r.nextInt(40) == 0) {
            labels.add("root-replaced");
            return Hostile.pick(r, List.of(NODES.arrayNode().add(o), NODES.textNode(o.toString()), NODES.numberNode(42), NODES.nullNode(),
                    NODES.booleanNode(true), NODES.arrayNode()));
        }
        return o;
    }

    static String mutateText(Random r, String raw, String marker, TreeSet<String> labels) {
        switch (r.nextInt(11)) {
            case 0 -> {
                labels.add("truncated");
                return raw.isEmpty() ? raw : raw.substring(0, r.nextInt(raw.length()));
            }
            case 1 -> {
                labels.add("duplicate-key");
                String dup = Hostile.pick(r, List.of("\"client_secret\":\"" + marker + "\",", "\"tenant_id\":\"dup\",", "\"request_id\":7,",
                        "\"client_id\":\"app\",\"client_secret\":\"" + marker + "\","));
                int brace = raw.indexOf('{');
                return brace < 0 ? raw : raw.substring(0, brace + 1) + dup + raw.substring(brace + 1);
            }
            case 2 -> {
                labels.add("garbage");
                int at = insertionPoint(r, raw, marker);
                String garbage = r.nextBoolean() ? Hostile.text(r) : randomChars(r, 1 + r.nextInt(20));
                return raw.substring(0, at) + garbage + raw.substring(at);
            }
            case 3 -> {
                labels.add("single-quoted");
                return raw.replace('"', '\'');
            }
            case 4 -> {
                labels.add("trailing");
                return raw + Hostile.pick(r, List.of(" garbage", "}", "]", ",", "\u0000", "//c", "/* */", "{\"client_secret\":\"" + marker + "\"}",
                        "{\"request_id\":\"other\"}", "\n\n\n", "\uFEFF"));
            }
            case 5 -> {
                labels.add("bom");
                return "\uFEFF" + raw;
            }
            case 6 -> {
                labels.add("escaped-key");
                String escaped = raw.replace("\"client_secret\"", "\"client_s\\u0065cret\"");
                int cut = escaped.indexOf(marker);
                // Half the time also broken after the secret, so only the text redaction can help.
                return cut >= 0 && r.nextBoolean() ? escaped.substring(0, cut + marker.length() + 1) + ", broken" : escaped;
            }
            case 7 -> {
                labels.add("unquoted-secret");
                return raw.replace("\"" + marker + "\"", marker);
            }
            case 8 -> {
                labels.add("number");
                int colon = raw.indexOf(':');
                int end = colon < 0 ? -1 : raw.indexOf(',', colon);
                return colon < 0 || end < 0 ? raw : raw.substring(0, colon + 1) + Hostile.pick(r, NUMBERS) + raw.substring(end);
            }
            case 9 -> {
                labels.add("unquoted-keys");
                return raw.replaceAll("\"([a-z_]+)\":", "$1:");
            }
            default -> {
                labels.add("escaped-surrogate");
                int brace = raw.indexOf('{');
                String dup = Hostile.pick(r, List.of("\"tenant_id\":\"\\ud800\",", "\"request_id\":\"\\udc00x\",", "\"admin_email\":\"a\\ud83d@b.com\",",
                        "\"azure_tenant\":\"\\uDBFF\\uDBFF\","));
                return brace < 0 ? raw : raw.substring(0, brace + 1) + dup + raw.substring(brace + 1);
            }
        }
    }

    static String nonJson(Random r, String marker, TreeSet<String> labels) {
        switch (r.nextInt(6)) {
            case 0 -> {
                labels.add("non-json-list");
                return Hostile.pick(r, NON_JSON);
            }
            case 1 -> {
                labels.add("non-json-bytes");
                return randomChars(r, 1 + r.nextInt(2000));
            }
            case 2 -> {
                labels.add("non-json-yaml");
                return "request_id: r\ntenant_id: t\nclient_id: app\nclient_secret: " + marker + "\n";
            }
            case 3 -> {
                labels.add("non-json-broken");
                return "{\"request_id\": \"r-" + marker.length() + "\", \"client_secret\" : \"" + marker + "\", " + Hostile.text(r);
            }
            case 4 -> {
                if (r.nextInt(4) != 0) {
                    labels.add("non-json-list");
                    return Hostile.pick(r, NON_JSON);
                }
                labels.add("record-too-large");
                return r.nextBoolean() ? "x".repeat(2 * 1024 * 1024 + 1)
                        : "{\"client_id\":\"a\",\"client_secret\":\"" + marker + "\",\"x\":\"" + "y".repeat(2 * 1024 * 1024) + "\"}";
            }
            default -> {
                labels.add("non-json-deep");
                return "{\"client_secret\":\"" + marker + "\",\"x\":" + "[".repeat(100_000);
            }
        }
    }

    /** A position outside the client secret's key and value, so the marker stays in its field. */
    static int insertionPoint(Random r, String raw, String marker) {
        int at = r.nextInt(raw.length() + 1);
        int value = raw.indexOf(marker);
        if (value >= 0) {
            int key = raw.toLowerCase(Locale.ROOT).lastIndexOf("client", value);
            int start = Math.max(0, key - 1);
            int end = value + marker.length() + 1;
            if (at > start && at < end) {
                at = r.nextBoolean() ? start : Math.min(end, raw.length());
            }
        }
        return at;
    }

    static JsonNode randomValue(Random r, int depth) {
        return switch (r.nextInt(depth > 2 ? 10 : 12)) {
            case 0 -> NODES.numberNode(r.nextInt());
            case 1 -> Hostile.pick(r, List.of(NODES.numberNode(Long.MAX_VALUE), NODES.numberNode(new BigInteger("9".repeat(70))),
                    NODES.numberNode(-0.0), NODES.numberNode(1e308), NODES.numberNode(Double.NaN)));
            case 2 -> NODES.booleanNode(r.nextBoolean());
            case 3 -> NODES.nullNode();
            case 4 -> NODES.textNode("");
            case 5 -> NODES.textNode(Hostile.pick(r, List.of(" ", "\t", "\n", "\u0000")));
            case 6 -> NODES.textNode(Hostile.text(r));
            case 7 -> NODES.textNode(Hostile.unicode(r, 1 + r.nextInt(30)));
            case 8 -> NODES.arrayNode();
            case 9 -> NODES.textNode(Hostile.plain(r, r.nextInt(400)));
            case 10 -> {
                ArrayNode array = NODES.arrayNode();
                for (int i = r.nextInt(4); i > 0; i--) {
                    array.add(randomValue(r, depth + 1));
                }
                yield array;
            }
            default -> {
                ObjectNode object = NODES.objectNode();
                for (int i = r.nextInt(4); i > 0; i--) {
                    object.set(Hostile.plain(r, 1 + r.nextInt(8)), randomValue(r, depth + 1));
                }
                yield object;
            }
        };
    }

    /** Nesting as JSON text would have it; deeper than the parser allows from 33 on. */
    static JsonNode deep(Random r, int depth) {
        // The writer stops at 1000 levels: deeper nesting is put in as text after writing (see withDeepText).
        if (depth >= 1000) {
            return NODES.textNode(DEEP + depth + "@@");
        }
        JsonNode node = NODES.textNode("bottom");
        for (int i = 0; i < depth; i++) {
            node = r.nextBoolean() ? NODES.arrayNode().add(node) : NODES.objectNode().set("d", node);
        }
        return node;
    }

    static String withDeepText(String json) {
        int at = json.indexOf("\"" + DEEP);
        if (at < 0) {
            return json;
        }
        int end = json.indexOf("@@\"", at + DEEP.length() + 1);
        if (end < 0) {
            // The placeholder ended up inside a string (root replaced by its text): left as it is.
            return json;
        }
        int depth = Integer.parseInt(json.substring(at + DEEP.length() + 1, end));
        return json.substring(0, at) + "[".repeat(depth) + "]".repeat(depth) + json.substring(end + 3);
    }

    static String randomChars(Random r, int length) {
        StringBuilder out = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            out.append((char) (r.nextInt(4) == 0 ? r.nextInt(0x10000) : r.nextInt(0x100)));
        }
        return out.toString();
    }

    static String write(JsonNode node) {
        try {
            return withDeepText(JSON.writeValueAsString(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
