package io.consentbridge;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The contract's configuration table (contract §1): each environment variable wins over its
 * property in {@code config/application.properties}.
 */
public final class Settings {
    /** Environment variable to property key, exactly as the contract names them. */
    public static final Map<String, String> ENVIRONMENT = Map.ofEntries(
            Map.entry("KAFKA_BROKERS", "camel.component.kafka.brokers"),
            Map.entry("NYLAS_API_URI", "nylas.api-uri"),
            Map.entry("NYLAS_API_KEY", "nylas.api-key"),
            Map.entry("NYLAS_CLIENT_ID", "nylas.client-id"),
            Map.entry("CONSENT_REDIRECT_URI", "consent.redirect-uri"),
            Map.entry("HTTP_PORT", "camel.server.port"),
            Map.entry("MANAGEMENT_PORT", "camel.management.port"),
            // Not in the contract's table: the management port's interface (default loopback only).
            Map.entry("MANAGEMENT_HOST", "camel.management.host"),
            Map.entry("ADMIN_TOKEN", "admin.token"),
            Map.entry("CONSENT_TTL", "consent.ttl"),
            Map.entry("DB_URL", "ledger.url"),
            Map.entry("DB_USER", "ledger.user"),
            Map.entry("DB_PASSWORD", "ledger.password"),
            Map.entry("ONBOARDING_TOPIC", "topics.onboarding"),
            Map.entry("MAILBOX_TOPIC", "topics.mailboxes"),
            Map.entry("CONSENT_URL_TOPIC", "topics.consent-urls"),
            Map.entry("RESULT_TOPIC", "topics.results"),
            Map.entry("DLQ_TOPIC", "topics.dlq"),
            Map.entry("COMMAND_TOPIC", "topics.commands"),
            Map.entry("SECRET_EXPIRY_WARNING", "credential.secret-expiry-warning"),
            Map.entry("NYLAS_WEBHOOK_SECRET", "nylas.webhook-secret"),
            Map.entry("RECONCILE_INTERVAL", "reconcile.interval"),
            // Not in the contract's table: the log layout (read by the logging itself, checked here).
            Map.entry("LOG_FORMAT", "log.format"),
            Map.entry("NYLAS_MAX_RPS", "nylas.max-requests-per-second"),
            Map.entry("ROUTES_DIR", "routes.dir"),
            Map.entry("ROUTES_RELOAD", "routes.reload"));

    /**
     * Where properties are read from. Camel takes a key from the first location that has it, so the
     * operator's file on disk comes first and the jar's copy fills in what it leaves out.
     */
    public static final String LOCATIONS = "file:config/application.properties;optional=true,classpath:application.properties;optional=true";

    private Settings() {
    }

    /** Properties set by environment variables that are present and not blank. */
    public static Map<String, String> fromEnvironment(Map<String, String> env) {
        Map<String, String> overrides = new LinkedHashMap<>();
        ENVIRONMENT.forEach((variable, key) -> {
            String value = env.get(variable);
            if (value != null && !value.isBlank()) {
                overrides.put(key, value.trim());
            }
        });
        return overrides;
    }

    /** The effective value of a key, resolved the way Camel will: overrides, then disk, then the jar. */
    public static String effective(String key, Map<String, String> overrides) {
        if (overrides.containsKey(key)) {
            return overrides.get(key);
        }
        Properties properties = new Properties();
        try (InputStream jar = Settings.class.getClassLoader().getResourceAsStream("application.properties")) {
            if (jar != null) {
                properties.load(new java.io.InputStreamReader(jar, StandardCharsets.UTF_8));
            }
            Path disk = Path.of("config", "application.properties");
            if (Files.isRegularFile(disk)) {
                try (Reader reader = Files.newBufferedReader(disk, StandardCharsets.UTF_8)) {
                    properties.load(reader);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read application.properties: " + e.getMessage(), e);
        }
        String value = properties.getProperty(key);
        return value == null || value.isBlank() ? null : value.trim();
    }
}
