package io.consentbridge.packaging;

import org.junit.jupiter.api.Test;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The jar's routes are named one by one in application.properties (a wildcard makes Camel read the
 * whole jar to find them): every file in routes/ must be named there, and nothing else.
 */
class BundledRoutesTest {

    @Test
    void everyRouteFileIsNamedInTheIncludePattern() throws Exception {
        Properties settings = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of("config", "application.properties"))) {
            settings.load(in);
        }
        String pattern = settings.getProperty("camel.main.routes-include-pattern");
        assertThat(pattern).as("a wildcard scans the whole jar").doesNotContain("*");
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            assertThat(Arrays.stream(pattern.split(",")).map(String::trim))
                    .containsExactlyInAnyOrderElementsOf(files.map(f -> "classpath:routes/" + f.getFileName())
                            .filter(name -> name.endsWith(".camel.yaml")).toList());
        }
    }
}
