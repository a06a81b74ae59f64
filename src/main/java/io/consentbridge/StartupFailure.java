package io.consentbridge;

import org.apache.camel.FailedToCreateRouteException;

import java.util.ArrayList;
import java.util.List;

/**
 * Why starting failed, in one line: the bundle's own message when it knows which setting is to
 * blame ({@link Problem}), or Camel's (a route file with its line and column), without the stack
 * trace (the launcher logs that at DEBUG).
 */
public final class StartupFailure {
    private StartupFailure() {
    }

    /** A startup failure that names the setting to blame; its message is the whole story. */
    public static class Problem extends RuntimeException {
        public Problem(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public static String describe(Throwable failure) {
        List<Throwable> chain = new ArrayList<>();
        for (Throwable t = failure; t != null && !chain.contains(t); t = t.getCause()) {
            chain.add(t);
        }
        for (Throwable t : chain) {
            if (t instanceof Problem) {
                return oneLine(t.getMessage());
            }
        }
        // The deepest message that says where (a route file's line and column), else the deepest message.
        String where = null;
        String deepest = null;
        for (Throwable t : chain) {
            String message = t.getMessage();
            if (message == null || message.isBlank()) {
                continue;
            }
            deepest = message;
            if (message.contains("line") && message.contains("column")) {
                where = message;
            }
        }
        String message = where != null ? where : deepest != null ? deepest : failure.getClass().getSimpleName();
        // A route that could not be built: say which.
        for (Throwable t : chain) {
            if (t instanceof FailedToCreateRouteException route && route.getRouteId() != null && where == null) {
                return "route " + route.getRouteId() + ": " + oneLine(message);
            }
        }
        return oneLine(message);
    }

    static String oneLine(String text) {
        // Camel's YAML errors quote the line and point at the column with a caret: the text says it already.
        String line = text.replaceAll("(?m)^\\s*\\^\\s*$", "").replaceAll("\\s*[\\r\\n]+\\s*", " | ").trim();
        line = line.replaceAll("(\\s*\\|)+$", "");
        return line.length() > 2000 ? line.substring(0, 2000) + "..." : line;
    }
}
