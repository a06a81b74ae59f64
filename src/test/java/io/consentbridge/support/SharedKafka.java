package io.consentbridge.support;

import io.consentbridge.demo.EmbeddedKafkaBroker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One real KRaft broker for the whole test JVM; tests isolate themselves by topic names. */
public final class SharedKafka {
    private static EmbeddedKafkaBroker broker;

    private SharedKafka() {
    }

    public static synchronized EmbeddedKafkaBroker broker() {
        if (broker == null) {
            try {
                Path dir = Files.createTempDirectory("consent-bridge-kafka");
                broker = new EmbeddedKafkaBroker(0, dir, 3);
                broker.start();
                EmbeddedKafkaBroker started = broker;
                Runtime.getRuntime().addShutdownHook(new Thread(started::stop));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return broker;
    }

    public static String bootstrapServers() {
        return broker().bootstrapServers();
    }
}
