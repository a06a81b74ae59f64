package io.consentbridge.webhooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * Nylas's webhook endpoint (contract §3, reference §9): the challenge Nylas sends when the
 * destination is created, and the signature check of every notification, made on the raw bytes
 * (gzip bodies before they are decompressed), in constant time, before anything is parsed.
 */
public class NylasWebhooks {
    static final int MAX_CHALLENGE = 1024;
    /** A notification is a few kilobytes; a gzip body may not unpack to more than this. */
    static final int MAX_UNPACKED = 256 * 1024;

    private final byte[] secret;
    private final ObjectMapper mapper;

    /** @param secret {@code NYLAS_WEBHOOK_SECRET}; blank: notifications are answered 404 */
    public NylasWebhooks(String secret, ObjectMapper mapper) {
        this.secret = secret == null || secret.isBlank() ? null : secret.trim().getBytes(StandardCharsets.UTF_8);
        this.mapper = mapper;
    }

    /** {@code GET /nylas/webhooks?challenge=<c>}: 200 text/plain with exactly the challenge. */
    public String challenge(Exchange exchange) {
        String challenge = queryParam(exchange.getMessage().getHeader(Exchange.HTTP_RAW_QUERY, String.class), "challenge");
        if (challenge == null || challenge.isEmpty()) {
            throw new WebhookRefusal(400, "challenge missing");
        }
        if (challenge.length() > MAX_CHALLENGE) {
            throw new WebhookRefusal(400, "challenge longer than " + MAX_CHALLENGE + " characters");
        }
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        message.setHeader(Exchange.CONTENT_TYPE, "text/plain; charset=utf-8");
        message.setHeader("Cache-Control", "no-store");
        return challenge;
    }

    /**
     * {@code POST /nylas/webhooks}: the notification, once its signature is right. 404 when no
     * secret is configured, 401 when the signature is missing or wrong, 400 when a signed body is
     * not a notification.
     */
    public GrantNotification verify(Exchange exchange) {
        if (secret == null) {
            throw new WebhookRefusal(404, "webhooks are not configured (NYLAS_WEBHOOK_SECRET is not set)");
        }
        Message message = exchange.getMessage();
        byte[] raw = message.getBody(byte[].class);
        if (raw == null) {
            raw = new byte[0];
        }
        String given = message.getHeader("x-nylas-signature", String.class);
        if (given == null || !MessageDigest.isEqual(sign(raw), given.trim().toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII))) {
            throw new WebhookRefusal(401, "signature missing or wrong");
        }
        String encoding = message.getHeader("Content-Encoding", String.class);
        byte[] body = encoding != null && encoding.trim().equalsIgnoreCase("gzip") ? gunzip(raw) : raw;
        JsonNode json;
        try {
            json = mapper.readTree(body);
        } catch (IOException e) {
            throw new WebhookRefusal(400, "not a JSON notification");
        }
        if (json == null || !json.path("id").isTextual() || json.path("id").asText().isBlank() || json.path("id").asText().length() > 256
                || !json.path("type").isTextual()) {
            throw new WebhookRefusal(400, "a notification needs an id and a type");
        }
        JsonNode object = json.path("data").path("object");
        String grantId = object.path("grant_id").isTextual() ? object.get("grant_id").asText()
                : object.path("id").isTextual() ? object.get("id").asText() : null;
        boolean reauthenticated = object.path("reauthentication_flag").asBoolean(false);
        return new GrantNotification(json.get("id").asText(), json.get("type").asText(), grantId, reauthenticated);
    }

    /** The answer to a notification that is recorded: 200, empty. */
    public String recorded(Exchange exchange) {
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        message.setHeader(Exchange.CONTENT_TYPE, "text/plain; charset=utf-8");
        return "";
    }

    /** The answer to a refused request (status from {@link WebhookRefusal}, or 503 when the ledger is away, so Nylas retries). */
    public String refused(Exchange exchange) {
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        int status = failure instanceof WebhookRefusal refusal ? refusal.status() : 503;
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        message.setHeader(Exchange.CONTENT_TYPE, "text/plain; charset=utf-8");
        if (status == 503) {
            message.setHeader("Retry-After", "30");
        }
        return failure instanceof WebhookRefusal refusal ? refusal.getMessage() : "not recorded; try again";
    }

    /** Lower-case hex HMAC-SHA256 of the raw body, as ASCII bytes. */
    byte[] sign(byte[] raw) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(raw)).getBytes(StandardCharsets.US_ASCII);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] gunzip(byte[] raw) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                if (out.size() > MAX_UNPACKED) {
                    throw new WebhookRefusal(413, "the body unpacks to more than " + MAX_UNPACKED + " bytes");
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new WebhookRefusal(400, "Content-Encoding gzip, but the body is not gzip");
        }
    }

    private static String queryParam(String raw, String name) {
        if (raw == null) {
            return null;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (key.equals(name)) {
                try {
                    return URLDecoder.decode(eq < 0 ? "" : pair.substring(eq + 1), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException malformed) {
                    throw new WebhookRefusal(400, "challenge is not well encoded");
                }
            }
        }
        return null;
    }
}
