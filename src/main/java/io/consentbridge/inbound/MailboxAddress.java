package io.consentbridge.inbound;

import java.net.IDN;
import java.nio.charset.StandardCharsets;

/**
 * Judges an e-mail address by its syntax alone (contract §2): the RFC 5322 addr-spec as RFC 5321
 * restricts it for SMTP, with UTF-8 in the local part and internationalised domain names
 * (RFC 6531/6532). No list of top-level domains: any label that is a valid host name label is a
 * top-level domain. One pass over the text, after the length check, so any input costs linear time.
 */
public final class MailboxAddress {
    /** RFC 5321 4.5.3.1.3: a path is at most 256 octets, so an address at most 254; 320 is the classic bound the contract uses. */
    public static final int MAX_LENGTH = 320;
    private static final int MAX_LOCAL_OCTETS = 64;
    private static final int MAX_DOMAIN_OCTETS = 255;
    private static final int MAX_LABEL_OCTETS = 63;
    private static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

    private MailboxAddress() {
    }

    /** True when {@code text} is a valid address. */
    public static boolean isValid(String text) {
        return problem(text) == null;
    }

    /** Why {@code text} is not a valid address, or null when it is one. Never quotes the text. */
    public static String problem(String text) {
        if (text == null || text.isEmpty()) {
            return "empty";
        }
        if (text.length() > MAX_LENGTH) {
            return "longer than " + MAX_LENGTH + " characters";
        }
        if (hasLoneSurrogate(text)) {
            // A character outside the BMP must be a whole pair: a lone half can be neither stored nor sent.
            return "a broken UTF-16 surrogate";
        }
        int at = text.lastIndexOf('@');
        if (at < 0) {
            return "no @";
        }
        if (at == 0) {
            return "nothing before the @";
        }
        if (at == text.length() - 1) {
            return "nothing after the @";
        }
        String local = text.substring(0, at);
        String domain = text.substring(at + 1);
        String localProblem = local.charAt(0) == '"' ? quotedLocalProblem(local) : dotAtomProblem(local);
        if (localProblem != null) {
            return localProblem;
        }
        if (local.getBytes(StandardCharsets.UTF_8).length > MAX_LOCAL_OCTETS) {
            return "the part before the @ is longer than " + MAX_LOCAL_OCTETS + " octets";
        }
        return domainProblem(domain);
    }

    /** dot-atom: atext+ ("." atext+)*, where atext includes any non-ASCII character but controls. */
    private static String dotAtomProblem(String local) {
        boolean previousDot = true;
        for (int i = 0; i < local.length(); i++) {
            char c = local.charAt(i);
            if (c == '.') {
                if (previousDot) {
                    return i == 0 ? "the address starts with a dot" : "two dots in a row before the @";
                }
                previousDot = true;
            } else if (isAtext(c)) {
                previousDot = false;
            } else {
                return "a character that is not allowed before the @ (U+" + String.format("%04X", (int) c) + ")";
            }
        }
        return previousDot ? "a dot just before the @" : null;
    }

    /** quoted-string: DQUOTE *(qtext / quoted-pair) DQUOTE. */
    private static String quotedLocalProblem(String local) {
        if (local.length() < 2 || local.charAt(local.length() - 1) != '"') {
            return "an unterminated quoted string before the @";
        }
        for (int i = 1; i < local.length() - 1; i++) {
            char c = local.charAt(i);
            if (c == '\\') {
                i++;
                if (i >= local.length() - 1 || !(isVchar(local.charAt(i)) || local.charAt(i) == ' ' || local.charAt(i) == '\t')) {
                    return "a bad escape in the quoted string before the @";
                }
            } else if (c == '"') {
                return "a quote inside the quoted string before the @";
            } else if (!(c == ' ' || c == '\t' || isVchar(c))) {
                return "a character that is not allowed in the quoted string before the @";
            }
        }
        return null;
    }

    /**
     * A host name: labels of letters, digits and hyphens (no hyphen first or last), at least two
     * labels, the last not all digits. Non-ASCII labels are judged by their IDNA (punycode) form.
     */
    private static String domainProblem(String domain) {
        if (domain.charAt(0) == '[') {
            return "an address literal after the @ (a Microsoft 365 mailbox has a domain name)";
        }
        if (domain.length() > MAX_DOMAIN_OCTETS) {
            return "the domain is longer than " + MAX_DOMAIN_OCTETS + " characters";
        }
        int labels = 0;
        int start = 0;
        boolean lastAllDigits = false;
        for (int i = 0; i <= domain.length(); i++) {
            if (i < domain.length() && domain.charAt(i) != '.') {
                continue;
            }
            String label = domain.substring(start, i);
            if (label.isEmpty()) {
                return i == domain.length() && labels > 0 ? "the domain ends with a dot" : "an empty label in the domain";
            }
            String ascii = asciiLabel(label);
            if (ascii == null) {
                return "a domain label that is not a valid (internationalised) host name label";
            }
            if (ascii.length() > MAX_LABEL_OCTETS) {
                return "a domain label longer than " + MAX_LABEL_OCTETS + " characters";
            }
            lastAllDigits = ascii.chars().allMatch(ch -> ch >= '0' && ch <= '9');
            labels++;
            start = i + 1;
        }
        if (labels < 2) {
            return "the domain has no dot (a mailbox domain such as contoso.com is needed)";
        }
        if (lastAllDigits) {
            return "the top-level domain is all digits";
        }
        return null;
    }

    /** The label in ASCII (LDH) form, or null when it is not a valid label. */
    private static String asciiLabel(String label) {
        boolean ascii = true;
        for (int i = 0; i < label.length(); i++) {
            if (label.charAt(i) >= 0x80) {
                ascii = false;
                break;
            }
        }
        String form = label;
        if (!ascii) {
            if (label.length() > MAX_LABEL_OCTETS) {
                return null;
            }
            try {
                form = IDN.toASCII(label, IDN.USE_STD3_ASCII_RULES);
            } catch (IllegalArgumentException notIdn) {
                return null;
            }
        }
        if (form.isEmpty() || form.charAt(0) == '-' || form.charAt(form.length() - 1) == '-') {
            return null;
        }
        for (int i = 0; i < form.length(); i++) {
            char c = form.charAt(i);
            boolean ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
            if (!ldh) {
                return null;
            }
        }
        return form;
    }

    private static boolean hasLoneSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isAtext(char c) {
        if (c >= 0x80) {
            // UTF8-non-ascii (RFC 6532), but no control, space or line separator characters.
            return !Character.isISOControl(c) && !Character.isWhitespace(c) && !Character.isSpaceChar(c)
                    && c != '\u2028' && c != '\u2029' && c != '\uFEFF';
        }
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || ATEXT_SPECIALS.indexOf(c) >= 0;
    }

    private static boolean isVchar(char c) {
        return (c >= 0x21 && c <= 0x7E) || (c >= 0x80 && !Character.isISOControl(c));
    }
}
