package io.consentbridge.support;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code chromium}, headless, as an operator's browser: the DOM after the page has loaded,
 * or a screenshot. Missing Chromium fails the test (CI installs it: {@code .ci/run}), never skips it.
 */
public final class HeadlessChromium {
    private HeadlessChromium() {
    }

    /** The binary named {@code chromium} on the PATH. */
    public static Path binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "chromium");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("chromium is not on the PATH: this test needs Debian's headless browser"
                + " (apt-get install chromium; .ci/run installs it when missing)");
    }

    /** The page's DOM, serialised, once it has loaded (credentials may be in the URI's user info). */
    public static String dumpDom(URI page) {
        return run(List.of("--dump-dom", page.toString()));
    }

    /** A PNG of the page as a 1280-pixel-wide window shows it. */
    public static void screenshot(URI page, Path png) {
        run(List.of("--window-size=1280,1100", "--screenshot=" + png.toAbsolutePath(), page.toString()));
    }

    private static String run(List<String> what) {
        Path profile = null;
        try {
            profile = Files.createTempDirectory("chromium-profile");
            List<String> command = new ArrayList<>(List.of(binary().toString(), "--headless", "--disable-gpu", "--no-sandbox",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking", "--user-data-dir=" + profile));
            command.addAll(what);
            Path out = profile.resolve("stdout.txt");
            Path err = profile.resolve("stderr.txt");
            Process chromium = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!chromium.waitFor(60, TimeUnit.SECONDS)) {
                chromium.destroyForcibly();
                throw new AssertionError("chromium did not finish within 60 s");
            }
            if (chromium.exitValue() != 0) {
                throw new AssertionError("chromium exited with " + chromium.exitValue() + ": " + Files.readString(err));
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            deleteQuietly(profile);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary folder left behind is harmless
        }
    }
}
