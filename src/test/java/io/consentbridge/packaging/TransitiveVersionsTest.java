package io.consentbridge.packaging;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** The jars that scanners flag in the embedded broker's dependencies are the fixed releases (pom.xml pins them). */
class TransitiveVersionsTest {

    @Test
    void commonsBeanutilsAndJose4jAreTheFixedReleases() throws Exception {
        assertThat(version("commons-beanutils", "commons-beanutils")).isEqualTo("1.11.0");
        assertThat(version("org.bitbucket.b_c", "jose4j")).isEqualTo("0.9.6");
    }

    static String version(String group, String artifact) throws Exception {
        String resource = "META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (InputStream in = TransitiveVersionsTest.class.getClassLoader().getResourceAsStream(resource)) {
            assertThat(in).as(resource + " on the class path").isNotNull();
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("version");
        }
    }
}
