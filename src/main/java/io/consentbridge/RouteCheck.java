package io.consentbridge;

import org.apache.camel.main.Main;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code java -jar consent-bridge.jar --check}: builds the application with its settings and
 * routes (every bean and endpoint the routes name is resolved) without connecting to anything:
 * the ledger is an empty in-memory database, no route is started (so no Kafka client or HTTP call
 * is made), the HTTP servers take ports of the system's choosing. Prints {@code OK} or the problem.
 */
final class RouteCheck {
    /** Set only by the check: the configuration then opens no connection to Kafka. */
    static final String CHECK_ONLY = "bridge.check-only";

    private RouteCheck() {
    }

    static int run(Map<String, String> overrides, boolean demo) {
        Map<String, String> settings = new LinkedHashMap<>(overrides);
        settings.put(CHECK_ONLY, "true");
        settings.put("ledger.url", "jdbc:h2:mem:consent-bridge-check");
        settings.remove("ledger.user");
        settings.remove("ledger.password");
        // A broker is named so that none is embedded; it is never contacted, since no route starts.
        settings.put("camel.component.kafka.brokers", "localhost:9092");
        settings.put("camel.main.auto-startup", "false");
        // Producers are built (their options checked) but start only with a first message, which never comes.
        settings.put("camel.component.kafka.lazy-start-producer", "true");
        settings.put("camel.server.port", "0");
        settings.put("camel.management.port", "0");
        if (demo) {
            settings.putIfAbsent("nylas.api-key", "check");
            settings.putIfAbsent("nylas.client-id", "check");
            settings.put("nylas.api-uri", "http://127.0.0.1:8090");
        }
        // The check's own output is the verdict; Camel's start-up story is for a real start.
        Configurator.setRootLevel(Level.WARN);
        Main main = ConsentBridge.create(settings);
        String verdict;
        int status;
        try {
            main.start();
            int routes = main.getCamelContext().getRoutes().size();
            verdict = "OK: the settings and " + routes + " routes (" + routesSource(overrides) + ") check out";
            status = 0;
            if (Boolean.getBoolean("bridge.check.kafka-classes")) {
                // The class-data-sharing training run (pom.xml): the Kafka client's classes too, quietly
                // (its clients find nothing listening, as they should).
                Configurator.setLevel("org.apache.kafka", Level.OFF);
                io.consentbridge.kafka.KafkaClassesForArchive.load();
            }
        } catch (Exception e) {
            verdict = "consent-bridge: check failed: " + StartupFailure.describe(e);
            status = 1;
        }
        try {
            main.stop();
        } catch (Exception ignored) {
            // the verdict stands
        }
        System.out.println(verdict);
        return status;
    }

    private static String routesSource(Map<String, String> overrides) {
        String dir = Settings.effective("routes.dir", overrides);
        return dir == null ? "the routes inside the jar" : "routes from " + dir;
    }
}
