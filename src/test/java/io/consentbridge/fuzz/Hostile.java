package io.consentbridge.fuzz;

import java.util.List;
import java.util.Random;

/** Pools of hostile text shared by the fuzz tests. Everything is drawn from a caller's seeded Random. */
final class Hostile {
    static final List<String> MARKUP = List.of(
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(document.domain)>",
            "'><svg onload=alert(1)>",
            "javascript:alert(document.cookie)",
            "<a href=\"javascript:alert(1)\">click</a>",
            "&#x3C;script&#x3E;alert(1)&#x3C;/script&#x3E;",
            "&lt;b&gt;already escaped&lt;/b&gt;",
            "</title><script>x()</script>",
            "</code></p><iframe srcdoc=\"<script>parent.x()</script>\">",
            "<style>*{background:url(javascript:alert(1))}</style>",
            "<!--", "-->", "]]>", "<![CDATA[x]]>",
            "<body onload=alert(1)>",
            "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
            "\" autofocus onfocus=\"alert(1)",
            "<IMG SRC=JaVaScRiPt:alert('XSS')>",
            "<scr<script>ipt>alert(1)</scr</script>ipt>",
            "\u003cscript\u003e",
            "＜script＞alert(1)＜/script＞");
    static final List<String> SQL = List.of(
            "' OR 1=1 --", "\" OR \"\"=\"", "'; DROP TABLE tenant; --", "1' UNION SELECT state_hash FROM tenant --",
            "' OR consent_status='pending", "\\'; SHUTDOWN; --", "admin'--", "%' AND '%'='");
    static final List<String> TRAVERSAL = List.of(
            "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/..;/..;/observe/health", "....//....//etc/passwd", "file:///etc/passwd", "\\\\evil.example\\share");
    static final List<String> FORMAT = List.of(
            "%s%s%s%s%n", "%x%x%x%x", "{0}{1}{2}", "%(name)s", "${7*7}", "#{7*7}", "{{7*7}}", "${jndi:ldap://127.0.0.1:1/a}",
            "${body}", "${header.state}", "${exchangeProperty.callbackError}", "${sys:user.home}", "${env:PATH}",
            "%1$s%2$s", "%999999999d", "\\u0000", "\\");
    static final List<String> JSON = List.of(
            "{\"admin_consent\":true}", "[]", "{}", "null", "{\"$ne\":null}", "{\"__proto__\":{\"x\":1}}",
            "[[[[[[[[[[]]]]]]]]]]", "\"", "\\\"", "{\"a\":", "true", "-0", "1e999", "NaN");
    static final List<String> UNICODE = List.of(
            "\uD83D\uDE00\uD83D\uDD25", "\u202Egnp.exe", "\u200F\u200E\u200B\u2060", "\uFEFF", "\u0000", "\r\n",
            "\r\nSet-Cookie: injected=1", "\r\nX-Injected: 1\r\n\r\n<script>alert(1)</script>",
            "e\u0301\u0301\u0301\u0301", "\uFFFD\uFFFE\uFFFF", "\uD835\uDD4F\uD835\uDD50", "\u0130\u0131", "ｔｒｕｅ",
            "\u2028\u2029", "\u0085", "\t\u000B\u000C", "\u001B[31mred\u001B[0m", "\u00A0", "ß", "Ω≈ç√∫",
            "\uD83C\uDFF3\uFE0F\u200D\uD83C\uDF08", "\u0000\u0001\u0002\u007F");
    static final List<List<String>> POOLS = List.of(MARKUP, SQL, TRAVERSAL, FORMAT, JSON, UNICODE);

    private Hostile() {
    }

    static <T> T pick(Random random, List<T> list) {
        return list.get(random.nextInt(list.size()));
    }

    /** One to three hostile fragments, sometimes around plain text. */
    static String text(Random random) {
        StringBuilder out = new StringBuilder();
        int parts = 1 + random.nextInt(3);
        for (int i = 0; i < parts; i++) {
            if (random.nextInt(4) == 0) {
                out.append(plain(random, 1 + random.nextInt(12)));
            }
            out.append(pick(random, pick(random, POOLS)));
        }
        return out.toString();
    }

    /** A long value of roughly {@code length} UTF-16 units: a hostile fragment repeated, or noise. */
    static String longText(Random random, int length) {
        StringBuilder out = new StringBuilder(length + 64);
        String unit = random.nextBoolean() ? text(random) : plain(random, 1 + random.nextInt(40));
        while (out.length() < length) {
            out.append(random.nextInt(5) == 0 ? unicode(random, 4) : unit);
        }
        return out.length() > length ? cut(out.toString(), length) : out.toString();
    }

    static String plain(Random random, int length) {
        String chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";
        StringBuilder out = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            out.append(chars.charAt(random.nextInt(chars.length())));
        }
        return out.toString();
    }

    /** Random code points from awkward ranges. Only whole code points: no lone surrogates. */
    static String unicode(Random random, int codePoints) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < codePoints; i++) {
            int cp = switch (random.nextInt(8)) {
                case 0 -> random.nextInt(0x20);                 // C0 controls, NUL included
                case 1 -> 0x7F + random.nextInt(0x21);          // DEL, C1 controls
                case 2 -> 0x200B + random.nextInt(0x15);        // zero-width, bidi marks
                case 3 -> 0x202A + random.nextInt(5);           // bidi embeddings and overrides
                case 4 -> 0x1F300 + random.nextInt(0x300);      // emoji (astral)
                case 5 -> 0x0300 + random.nextInt(0x70);        // combining marks
                case 6 -> 0xFFF0 + random.nextInt(0x10);        // specials, noncharacters
                default -> 0x20 + random.nextInt(0x5F);         // printable ASCII
            };
            out.appendCodePoint(cp);
        }
        return out.toString();
    }

    /** Cuts at {@code length} UTF-16 units without splitting a surrogate pair. */
    static String cut(String text, int length) {
        if (text.length() <= length) {
            return text;
        }
        int end = Character.isHighSurrogate(text.charAt(length - 1)) ? length - 1 : length;
        return text.substring(0, end);
    }
}
