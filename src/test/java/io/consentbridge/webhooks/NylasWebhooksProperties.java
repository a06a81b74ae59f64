package io.consentbridge.webhooks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.StringLength;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The webhook endpoint's input boundary (contract §3): whatever arrives, the answer is a verified
 * notification or a refusal with a client status (400, 401, 404, 413), never another failure (which
 * the route would answer 503, asking Nylas to send it again and again). A body is read only once its
 * signature is right; a notification, plain or gzip, is read as it was sent; the challenge is echoed
 * exactly or refused.
 */
class NylasWebhooksProperties {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String SECRET = "whsec-3f1c7a9e";
    final NylasWebhooks webhooks = new NylasWebhooks(SECRET, JSON);
    final DefaultCamelContext context = new DefaultCamelContext();

    enum Signature { RIGHT, RIGHT_UPPER_CASE_PADDED, WRONG, MISSING, NOT_ASCII }

    enum Encoding { NONE, GZIP, GZIP_SHOUTED, GZIP_HEADER_ON_PLAIN_BODY, OTHER }

    /** A body Nylas could send, or anything else of any bytes. */
    record Body(String kind, byte[] bytes, String id, String type, String grantId) {
        @Override
        public String toString() {
            return kind + " (" + bytes.length + " bytes)";
        }
    }

    @Property(tries = 400, seed = "20261204")
    void everyNotificationIsReadAsSentOrRefusedWithAClientStatus(@ForAll("bodies") Body body, @ForAll Signature signature,
                                                                @ForAll Encoding encoding) {
        byte[] raw = switch (encoding) {
            case GZIP, GZIP_SHOUTED -> gzip(body.bytes());
            default -> body.bytes();
        };
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(raw);
        switch (encoding) {
            case GZIP, GZIP_HEADER_ON_PLAIN_BODY -> exchange.getMessage().setHeader("Content-Encoding", "gzip");
            case GZIP_SHOUTED -> exchange.getMessage().setHeader("Content-Encoding", " GZIP ");
            case OTHER -> exchange.getMessage().setHeader("Content-Encoding", "br");
            default -> { }
        }
        String right = new String(webhooks.sign(raw), StandardCharsets.US_ASCII);
        switch (signature) {
            case RIGHT -> exchange.getMessage().setHeader("x-nylas-signature", right);
            case RIGHT_UPPER_CASE_PADDED -> exchange.getMessage().setHeader("x-nylas-signature", " " + right.toUpperCase() + " ");
            case WRONG -> exchange.getMessage().setHeader("x-nylas-signature", flipLast(right));
            case NOT_ASCII -> exchange.getMessage().setHeader("x-nylas-signature", "é" + right.substring(1));
            default -> { }
        }

        Object outcome;
        try {
            outcome = webhooks.verify(exchange);
        } catch (WebhookRefusal refusal) {
            outcome = refusal;
        }
        boolean signed = signature == Signature.RIGHT || signature == Signature.RIGHT_UPPER_CASE_PADDED;
        if (!signed) {
            assertThat(outcome).as("unsigned: refused before anything is read").isInstanceOfSatisfying(WebhookRefusal.class,
                    refusal -> assertThat(refusal.status()).isEqualTo(401));
            return;
        }
        if (outcome instanceof WebhookRefusal refusal) {
            assertThat(refusal.status()).as(refusal.getMessage()).isIn(400, 413);
            assertThat(refusal.getMessage()).isNotBlank();
            // A notification Nylas could send, in an encoding it uses, is never refused.
            assertThat(body.id() != null && encoding != Encoding.GZIP_HEADER_ON_PLAIN_BODY)
                    .as("a well-formed notification refused: %s", refusal.getMessage()).isFalse();
        } else {
            GrantNotification notification = (GrantNotification) outcome;
            assertThat(body.id()).as("only a notification with an id and a type is read as one").isNotNull();
            assertThat(notification.id()).isEqualTo(body.id());
            assertThat(notification.type()).isEqualTo(body.type());
            assertThat(notification.grantId()).isEqualTo(body.grantId());
        }
    }

    @Property(tries = 300, seed = "20261204")
    void theChallengeIsEchoedExactlyOrRefused(@ForAll @StringLength(max = 1100) String challenge, @ForAll("noise") String before,
                                              @ForAll boolean first) {
        String param = "challenge=" + URLEncoder.encode(challenge, StandardCharsets.UTF_8);
        String query = first ? param + "&" + before : before + "&" + param;
        Object outcome = challenge(query);
        if (!first) {
            // Another parameter named challenge may come first, and wins: an answer, or a refusal, either way.
            assertThat(outcome).isInstanceOfAny(String.class, WebhookRefusal.class);
        } else if (!challenge.isEmpty() && challenge.length() <= NylasWebhooks.MAX_CHALLENGE) {
            assertThat(outcome).isEqualTo(challenge);
        } else {
            assertThat(outcome).isInstanceOfSatisfying(WebhookRefusal.class, r -> assertThat(r.status()).isEqualTo(400));
        }
    }

    @Property(tries = 300, seed = "20261204")
    void anyQueryIsAChallengeOrABadRequest(@ForAll("noise") String query) {
        Object outcome = challenge(query);
        if (outcome instanceof WebhookRefusal refusal) {
            assertThat(refusal.status()).isEqualTo(400);
        } else {
            assertThat((String) outcome).isNotEmpty().hasSizeLessThanOrEqualTo(NylasWebhooks.MAX_CHALLENGE);
        }
    }

    @Example
    void withoutASecretEveryNotificationIs404() {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody("{\"id\":\"n1\",\"type\":\"grant.expired\"}".getBytes(StandardCharsets.UTF_8));
        Throwable refused = catchThrowable(() -> new NylasWebhooks(" ", JSON).verify(exchange));
        assertThat(refused).isInstanceOfSatisfying(WebhookRefusal.class, r -> assertThat(r.status()).isEqualTo(404));
    }

    @Example
    void aGzipBodyThatUnpacksPastTheBoundIs413() {
        byte[] big = new byte[NylasWebhooks.MAX_UNPACKED + 1];
        Arrays.fill(big, (byte) ' ');
        byte[] raw = gzip(big);
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(raw);
        exchange.getMessage().setHeader("Content-Encoding", "gzip");
        exchange.getMessage().setHeader("x-nylas-signature", new String(webhooks.sign(raw), StandardCharsets.US_ASCII));
        Throwable refused = catchThrowable(() -> webhooks.verify(exchange));
        assertThat(refused).isInstanceOfSatisfying(WebhookRefusal.class, r -> assertThat(r.status()).isEqualTo(413));
    }

    Object challenge(String rawQuery) {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setHeader(Exchange.HTTP_RAW_QUERY, rawQuery);
        try {
            return webhooks.challenge(exchange);
        } catch (WebhookRefusal refusal) {
            return refusal;
        }
    }

    @Provide
    Arbitrary<Body> bodies() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(300);
        // Ids of any length around the bound (256) and blank ones: those are not notifications.
        Arbitrary<String> ids = Arbitraries.oneOf(Arbitraries.strings().ofMinLength(1).ofMaxLength(300),
                Arbitraries.strings().withChars(' ', '\t').ofMinLength(1).ofMaxLength(3),
                Arbitraries.strings().alpha().ofMinLength(250).ofMaxLength(260));
        Arbitrary<Body> notifications = net.jqwik.api.Combinators.combine(ids, text, Arbitraries.strings().ofMaxLength(80).injectNull(0.3),
                Arbitraries.of("data.object.grant_id", "data.object.id", "none")).as((id, type, grantId, where) -> {
            ObjectNode json = JSON.createObjectNode().put("id", id).put("type", type);
            String expected = null;
            if (grantId != null && !where.equals("none")) {
                json.putObject("data").putObject("object").put(where.substring("data.object.".length()), grantId);
                expected = grantId;
            }
            boolean valid = !id.isBlank() && id.length() <= 256;
            return new Body(valid ? "notification" : "notification with an unusable id", json.toString().getBytes(StandardCharsets.UTF_8),
                    valid ? id : null, type, expected);
        });
        Arbitrary<Body> anyBytes = Arbitraries.bytes().array(byte[].class).ofMaxSize(2000).map(b -> new Body("bytes", b, null, null, null));
        Arbitrary<Body> anyText = text.map(s -> new Body("text", s.getBytes(StandardCharsets.UTF_8), null, null, null));
        Arbitrary<Body> notQuite = Arbitraries.of(
                "{}", "[]", "null", "\"id\"", "{\"id\":\"\",\"type\":\"grant.expired\"}", "{\"id\":\"  \",\"type\":\"x\"}",
                "{\"id\":1,\"type\":\"grant.expired\"}", "{\"id\":\"n\",\"type\":null}", "{\"id\":\"n\"}", "{\"type\":\"t\"}",
                "{\"id\":\"" + "n".repeat(257) + "\",\"type\":\"t\"}", "[".repeat(5000), "{\"id\":\"n\",\"type\":\"t\",\"data\":" + "[".repeat(2000),
                "1" + "0".repeat(2000))
                .map(s -> new Body("malformed", s.getBytes(StandardCharsets.UTF_8), null, null, null));
        // A notification whose grant id is not a string: read, without a grant id.
        Arbitrary<Body> oddGrant = Arbitraries.of("7", "null", "{}", "[\"g\"]", "true").map(g -> new Body("notification with a grant id that is no string",
                ("{\"id\":\"n\",\"type\":\"grant.expired\",\"data\":{\"object\":{\"grant_id\":" + g + "}}}").getBytes(StandardCharsets.UTF_8),
                "n", "grant.expired", null));
        return Arbitraries.oneOf(notifications, notifications, anyBytes, anyText, notQuite, notQuite, oddGrant);
    }

    @Provide
    Arbitrary<String> noise() {
        return Arbitraries.oneOf(
                Arbitraries.strings().withChars("%&=+ab0F9zé\u0000\n").ofMaxLength(40),
                Arbitraries.strings().ofMaxLength(60),
                Arbitraries.of("", "&", "=", "challenge", "challenge=", "challenge=%", "challenge=%zz", "challenge=%e9", "a=b&c"));
    }

    static String flipLast(String hex) {
        char last = hex.charAt(hex.length() - 1);
        return hex.substring(0, hex.length() - 1) + (last == '0' ? '1' : '0');
    }

    static byte[] gzip(byte[] bytes) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream zip = new GZIPOutputStream(out)) {
                zip.write(bytes);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
