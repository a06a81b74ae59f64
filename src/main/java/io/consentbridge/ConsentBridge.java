package io.consentbridge;

import io.consentbridge.demo.DemoNylas;
import io.consentbridge.demo.EmbeddedKafkaBroker;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** Starts Consent Bridge: Camel Main with the YAML routes, an embedded Kafka broker when none is configured. */
public final class ConsentBridge {
    private static final Logger LOG = LoggerFactory.getLogger(ConsentBridge.class);
    static final int EMBEDDED_KAFKA_PORT = 9092;
    static final int DEMO_NYLAS_PORT = 8090;
    /** The demo's ADMIN_TOKEN when none is set: a documented value, for a bundle that talks only to the simulated Nylas. */
    static final String DEMO_ADMIN_TOKEN = "secret";

    private ConsentBridge() {
    }

    public static void main(String[] args) {
        // Whatever started before a failure (the embedded broker, the demo's Nylas) must not keep the
        // process alive: the exit status is the launcher's, always.
        System.exit(launch(args, System.getenv()));
    }

    /**
     * Checks the settings, then runs the bundle (or, with {@code --check}, only checks the routes).
     *
     * @return the exit status: 0 after a normal stop (or a passed check), 1 when starting failed (or
     * the check found problems), 2 for bad settings
     */
    static int launch(String[] args, Map<String, String> env) {
        List<String> flags = new ArrayList<>(Arrays.asList(args));
        boolean check = flags.remove("--check");
        boolean demo = flags.remove("--demo") || "true".equalsIgnoreCase(env.get("DEMO_MODE"));
        Map<String, String> overrides = new java.util.LinkedHashMap<>(Settings.fromEnvironment(env));
        String demoConflict = demoConflict(demo, overrides);
        if (demoConflict != null) {
            System.err.println("consent-bridge: cannot start: " + demoConflict);
            return 2;
        }
        SettingsCheck.Result settings = SettingsCheck.check(overrides, demo);
        settings.warnings().forEach(w -> System.err.println("consent-bridge: warning: " + w));
        if (!settings.ok()) {
            settings.problems().forEach(p -> System.err.println("consent-bridge: " + p));
            System.err.println("consent-bridge: " + (check ? "check failed" : "cannot start") + ": " + settings.problems().size() + " setting"
                    + (settings.problems().size() == 1 ? " is" : "s are") + " wrong (see README, Configuration)");
            return check ? 1 : 2;
        }
        if (check) {
            return RouteCheck.run(overrides, demo);
        }
        try {
            if (demo) {
                startDemoNylas(overrides);
            }
            Main main = create(overrides);
            main.run(flags.toArray(String[]::new));
            return main.getExitCode();
        } catch (Exception e) {
            System.err.println("consent-bridge: cannot start: " + StartupFailure.describe(e));
            LOG.debug("startup failed", e);
            return 1;
        }
    }

    /**
     * Demo mode: Nylas is simulated in-process on loopback (see {@link DemoNylas}), so the whole flow
     * can be tried on one machine with a browser. Real Nylas settings are ignored.
     */
    private static void startDemoNylas(Map<String, String> overrides) throws java.io.IOException {
        DemoNylas nylas = new DemoNylas(DEMO_NYLAS_PORT).start();
        overrides.put("nylas.api-uri", nylas.baseUri());
        overrides.put("nylas.api-key", DemoNylas.API_KEY);
        overrides.put("nylas.client-id", DemoNylas.CLIENT_ID);
        overrides.put("demo.enabled", "true");
        LOG.warn("DEMO MODE: Nylas is simulated at {}; consent links open a simulated consent page there. Nothing is sent to Nylas.",
                nylas.baseUri());
        // The status endpoints and the operator page need a token; the demo brings the README's own.
        String token = Settings.effective("admin.token", overrides);
        if (token == null || token.isBlank()) {
            overrides.put("admin.token", DEMO_ADMIN_TOKEN);
            LOG.warn("DEMO MODE: ADMIN_TOKEN is not set, so the demo's is used (see README); operator page: http://localhost:{}/operator",
                    Settings.effective("camel.management.port", overrides));
        }
    }

    /**
     * Demo mode logs each consent link (whose state is a one-time secret), so it must never run
     * against a real Nylas application: with real Nylas settings next to it, or with
     * {@code demo.enabled} set by hand instead of by {@code --demo}, the bundle refuses to start.
     */
    static String demoConflict(boolean demo, Map<String, String> overrides) {
        if (demo) {
            List<String> real = new ArrayList<>();
            Settings.ENVIRONMENT.forEach((variable, key) -> {
                if (key.startsWith("nylas.") && overrides.containsKey(key)) {
                    real.add(variable);
                }
            });
            if (!real.isEmpty()) {
                real.sort(null);
                return "demo mode simulates Nylas and logs consent links, but " + String.join(", ", real)
                        + (real.size() == 1 ? " is" : " are") + " set for a real Nylas application; unset "
                        + (real.size() == 1 ? "it" : "them") + " for the demo, or run without --demo / DEMO_MODE";
            }
            return null;
        }
        if ("true".equalsIgnoreCase(Settings.effective("demo.enabled", overrides))) {
            return "demo.enabled is set, but only --demo (or DEMO_MODE=true) may turn demo mode on; remove it from the configuration";
        }
        return null;
    }

    /**
     * A configured, not yet started application. {@code overrides} win over application.properties
     * (the launcher passes the environment; tests pass their own).
     */
    public static Main create(Map<String, String> overrides) {
        // Configuration named here, not found by package scanning (which would run it a second time).
        Main main = new Main();
        main.configure().addConfiguration(BridgeConfiguration.class);
        main.setDefaultPropertyPlaceholderLocation(Settings.LOCATIONS);
        Properties override = new Properties();
        override.putAll(overrides);
        // A password written inside DB_URL moves to ledger.password, so the URL (which Camel Main's
        // startup summary and the pool's messages print) holds none.
        String ledgerUrl = Settings.effective("ledger.url", overrides);
        if (ledgerUrl != null) {
            LedgerUrl split = LedgerUrl.split(ledgerUrl);
            if (split.password() != null) {
                override.put("ledger.url", split.url());
                if (Settings.effective("ledger.password", overrides) == null) {
                    override.put("ledger.password", split.password());
                }
            }
        }
        String routesDir = Settings.effective("routes.dir", overrides);
        if (routesDir != null) {
            override.put("camel.main.routes-include-pattern", "file:" + Path.of(routesDir).toAbsolutePath() + "/*.camel.yaml");
            if ("true".equalsIgnoreCase(Settings.effective("routes.reload", overrides))) {
                // Camel Main's route reload: an edited file's routes are replaced; a file that does not
                // load leaves the running routes as they were (only the edited file is reloaded).
                override.put("camel.main.routes-reload-enabled", "true");
                override.put("camel.main.routes-reload-directory", Path.of(routesDir).toAbsolutePath().toString());
                override.put("camel.main.routes-reload-pattern", "*.camel.yaml");
                override.put("camel.main.routes-reload-remove-all-routes", "false");
            }
        }
        EmbeddedKafkaBroker broker = null;
        if (Settings.effective("camel.component.kafka.brokers", overrides) == null) {
            broker = new EmbeddedKafkaBroker(EMBEDDED_KAFKA_PORT, Path.of("data", "kafka"), 3);
            override.put("camel.component.kafka.brokers", broker.bootstrapServers());
        }
        main.setOverrideProperties(override);
        if (broker != null) {
            main.addMainListener(new EmbeddedBrokerLifecycle(broker));
        }
        return main;
    }

    /** Starts the embedded broker before Camel's consumers and stops it with the context, also on SIGTERM. */
    private static final class EmbeddedBrokerLifecycle extends MainListenerSupport {
        private final EmbeddedKafkaBroker broker;

        EmbeddedBrokerLifecycle(EmbeddedKafkaBroker broker) {
            this.broker = broker;
        }

        @Override
        public void beforeConfigure(BaseMainSupport main) {
            LOG.warn("KAFKA_BROKERS is not set: starting an embedded single-node Kafka broker on {} (data in {}). "
                    + "For production, set KAFKA_BROKERS to a real cluster.", broker.bootstrapServers(), broker.dataDir().toAbsolutePath());
            try {
                broker.start();
            } catch (Exception e) {
                throw new IllegalStateException("embedded Kafka broker did not start on " + broker.bootstrapServers()
                        + " (is the port in use?): " + e.getMessage(), e);
            }
            try {
                main.getCamelContext().addService(new ServiceSupport() {
                    @Override
                    protected void doStop() {
                        broker.stop();
                    }
                }, true, false);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
