package io.consentbridge.support;


import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;

/** Grant notifications as Nylas sends them (reference §9): CloudEvents envelopes, signed with the webhook secret. */
public final class Notifications {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Notifications() {
    }

    public static String grantEvent(String id, String type, String grantId, String email, boolean reauthenticated) {
        int code = switch (type) {
            case "grant.expired" -> 25009;
            case "grant.deleted" -> 25013;
            case "grant.updated" -> 25014;
            default -> 25012;
        };
        return "{\"specversion\":\"1.0\",\"type\":\"" + type + "\",\"source\":\"/nylas/system\",\"id\":\"" + id + "\","
                + "\"time\":1739223251,\"webhook_delivery_attempt\":1,\"data\":{\"application_id\":\"app-1\",\"object\":{"
                + "\"code\":" + code + ",\"grant_id\":\"" + grantId + "\",\"integration_id\":\"cred\",\"provider\":\"microsoft\","
                + "\"email\":\"" + email + "\",\"grant_updated_at\":1739200000"
                + (reauthenticated ? ",\"reauthentication_flag\":true" : "") + "}}}";
    }

    public static String expired(String grantId, String email) {
        return grantEvent(UUID.randomUUID().toString(), "grant.expired", grantId, email, false);
    }

    public static String sign(byte[] body, String secret) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static byte[] gzip(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream zip = new GZIPOutputStream(out)) {
            zip.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static URI uri(BridgeUnderTest bridge) {
        return URI.create("http://127.0.0.1:" + bridge.httpPort + "/nylas/webhooks");
    }

    /** POSTs the body with the given signature header value (null: none) and encoding (null: none). */
    public static HttpResponse<String> post(BridgeUnderTest bridge, byte[] body, String signature, String encoding) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(bridge)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (signature != null) {
            request.header("X-Nylas-Signature", signature);
        }
        if (encoding != null) {
            request.header("Content-Encoding", encoding);
        }
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static HttpResponse<String> postSigned(BridgeUnderTest bridge, String json, String secret) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        return post(bridge, body, sign(body, secret), null);
    }
}
