package io.consentbridge.ops;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.config.DefaultConfiguration;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.logging.log4j.message.SimpleMessage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped log layout (src/main/resources/log4j2.xml, not the test one): input can never forge a
 * log line (contract §2), and a password inside a JDBC URL never reaches a log line.
 */
public class LogLinesTest {
    static final PatternLayout SHIPPED = PatternLayout.newBuilder()
            .withConfiguration(new DefaultConfiguration())
            .withAlwaysWriteExceptions(false)
            .withPattern(shippedPattern())
            .build();

    @Test
    void controlCharactersFromInputStayOnOneLine() {
        String tenant = "contoso\r\n2026-12-01 12:00:00.000 INFO  [main] ConsentBridge - forged\u0085x\u2028y\u2029z\u0000\u001b[31m";
        String line = format("Rejected request r1 of tenant " + tenant + " to the DLQ", null);
        assertThat(line).endsWith(System.lineSeparator());
        String body = line.substring(0, line.length() - System.lineSeparator().length());
        assertThat(body).doesNotContain("\r", "\n", "\u0085", "\u2028", "\u2029", "\u0000", "\u001b");
        assertThat(body).contains("contoso\\r\\n2026-12-01");
    }

    @Test
    void aStackTraceIsOneLineToo() {
        String line = format("failed", new IllegalStateException("bad\ninput"));
        String body = line.substring(0, line.length() - System.lineSeparator().length());
        assertThat(body).doesNotContain("\n", "\r").contains("IllegalStateException: bad\\ninput").contains("at io.consentbridge");
    }

    @Test
    void passwordsInsideJdbcUrlsAreMasked() {
        String line = format("ledger.url = jdbc:postgresql://db:5432/bridge?user=cb&password=pg-Secret-42&ssl=true;"
                + " jdbc:h2:file:./x;USER=sa;PASSWORD=h2-Secret-43", null);
        assertThat(line).doesNotContain("pg-Secret-42", "h2-Secret-43").contains("password=***", "PASSWORD=***", "ssl=true");
    }

    @Test
    void theJsonLayoutIsOneObjectPerLineWithTheRecordsIdsAndMasksPasswords() throws Exception {
        org.apache.logging.log4j.layout.template.json.JsonTemplateLayout json = org.apache.logging.log4j.layout.template.json.JsonTemplateLayout
                .newBuilder().setConfiguration(new DefaultConfiguration()).setEventTemplateUri("classpath:log-event.json").build();
        org.apache.logging.log4j.util.SortedArrayStringMap mdc = new org.apache.logging.log4j.util.SortedArrayStringMap();
        mdc.putValue("tenant_id", "contoso");
        mdc.putValue("request_id", "req-0001");
        LogEvent event = Log4jLogEvent.newBuilder().setLoggerName("io.consentbridge.Test").setLevel(Level.WARN)
                .setMessage(new SimpleMessage("tenant contoso\r\nforged line; ledger.url = jdbc:postgresql://db/x?password=pg-Secret-44"))
                .setContextData(mdc).setThrown(new IllegalStateException("bad\ninput")).build();
        String line = json.toSerializable(event);
        String body = line.endsWith(System.lineSeparator()) ? line.substring(0, line.length() - System.lineSeparator().length()) : line;
        assertThat(body).doesNotContain("\n", "\r", "pg-Secret-44");
        com.fasterxml.jackson.databind.JsonNode fields = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
        assertThat(fields.path("level").asText()).isEqualTo("WARN");
        assertThat(fields.path("tenant_id").asText()).isEqualTo("contoso");
        assertThat(fields.path("request_id").asText()).isEqualTo("req-0001");
        assertThat(fields.path("message").asText()).contains("forged line").contains("password=***");
        assertThat(fields.path("error").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(fields.path("stack_trace").asText()).contains("at io.consentbridge");
    }

    @Test
    void theTextLayoutNamesTheRecordsTenantAndRequest() {
        org.apache.logging.log4j.util.SortedArrayStringMap mdc = new org.apache.logging.log4j.util.SortedArrayStringMap();
        mdc.putValue("tenant_id", "contoso");
        mdc.putValue("request_id", "req-0001");
        LogEvent event = Log4jLogEvent.newBuilder().setLoggerName("io.consentbridge.Test").setLevel(Level.INFO)
                .setMessage(new SimpleMessage("Consent link issued")).setContextData(mdc).build();
        assertThat(SHIPPED.toSerializable(event)).contains("Test [contoso req-0001] - Consent link issued");
        assertThat(format("no record here", null)).contains("Test - no record here");
        // The ids come from input: they cannot forge a line either.
        org.apache.logging.log4j.util.SortedArrayStringMap forged = new org.apache.logging.log4j.util.SortedArrayStringMap();
        forged.putValue("tenant_id", "evil\r\n2026-12-01 12:00:00.000 INFO  [main] ConsentBridge - FORGED\u2028x");
        forged.putValue("request_id", "r\u0000\n1");
        String line = SHIPPED.toSerializable(Log4jLogEvent.newBuilder().setLoggerName("io.consentbridge.Test").setLevel(Level.INFO)
                .setMessage(new SimpleMessage("m")).setContextData(forged).build());
        String body = line.substring(0, line.length() - System.lineSeparator().length());
        assertThat(body).doesNotContain("\r", "\n", "\u2028", "\u0000").contains("evil\\r\\n2026-12-01");
    }

    private static String format(String message, Throwable thrown) {
        LogEvent event = Log4jLogEvent.newBuilder().setLoggerName("io.consentbridge.Test").setLevel(Level.WARN)
                .setMessage(new SimpleMessage(message)).setThrown(thrown).build();
        return SHIPPED.toSerializable(event);
    }

    public static String shippedPattern() {
        try (InputStream in = LogLinesTest.class.getClassLoader().getResourceAsStream("log4j2.xml")) {
            String xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            // The text layouts' pattern="${text}" is this property.
            assertThat(xml).contains("pattern=\"${text}\"");
            Matcher m = Pattern.compile("<Property name=\"text\">([^<]+)</Property>").matcher(xml);
            assertThat(m.find()).as("the text layout's pattern in log4j2.xml").isTrue();
            return m.group(1).replace("&amp;", "&");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
