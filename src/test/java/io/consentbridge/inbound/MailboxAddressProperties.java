package io.consentbridge.inbound;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Addresses judged by syntax alone (contract §2): every address the RFC 5321/5322 grammar allows,
 * with any top-level domain and internationalised labels, is accepted; every string that breaks
 * one rule of it is refused, and never reaches the list of mailboxes sent to Nylas.
 */
class MailboxAddressProperties {
    static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";
    static final InboundRequests INBOUND = new InboundRequests();

    @Example
    void theContractsExamplesAreValid() {
        for (String address : List.of("ada@contoso.example", "bob@fabrikam.technology", "chloé@bücher.de",
                "it-admin@contoso.com", "a+tag@sub.contoso.co.uk", "o'brien@contoso.ie", "\"john doe\"@contoso.com",
                "user@xn--bcher-kva.de", "δοκιμή@παράδειγμα.δοκιμή", "用户@例子.广告", "x@contoso.museum")) {
            assertThat(MailboxAddress.problem(address)).as(address).isNull();
        }
    }

    @Example
    void commonMistakesAreRefusedWithAReason() {
        for (String address : List.of("", "plain", "@contoso.com", "ada@", "ada@contoso", "ada..b@contoso.com", ".ada@contoso.com",
                "ada.@contoso.com", "ada b@contoso.com", "ada@-contoso.com", "ada@contoso-.com", "ada@contoso..com",
                "ada@contoso.com.", "ada@1.2.3.4", "ada@[1.2.3.4]", "ada@contoso.com\n", "a@b@contoso.com", "<ada>@contoso.com",
                "ada@contoso.c_m", "\"unterminated@contoso.com", "ada@" + "b".repeat(64) + ".com", "a".repeat(65) + "@contoso.com",
                "ada\uD800@contoso.com")) {
            assertThat(MailboxAddress.problem(address)).as(address).isNotNull().doesNotContain(address.isEmpty() ? "\u0000" : address);
        }
    }

    @Example
    void aLongValueIsJudgedInOnePass() {
        // 65,000 characters: refused by length before anything else, and a 320-character worst case in one pass.
        assertThat(MailboxAddress.problem("a".repeat(65_000) + "@contoso.com")).contains("longer than");
        assertThat(MailboxAddress.problem("a.".repeat(150) + "@" + "b.".repeat(9) + "c")).isNotNull();
    }

    @Property(tries = 2000, seed = "20261201")
    void everyAddressOfTheGrammarIsAccepted(@ForAll("addresses") String address) {
        assertThat(MailboxAddress.problem(address)).as(address).isNull();
    }

    @Property(tries = 2000, seed = "20261201")
    void everyAddressBrokenByOneRuleIsRefused(@ForAll("broken") String address) {
        assertThat(MailboxAddress.problem(address)).as(address).isNotNull();
    }

    @Property(tries = 300, seed = "20261201")
    void aRequestKeepsTheValidAddressesOnceAndAnswersEveryOtherString(@ForAll("mailboxLists") List<String> mailboxes) {
        String raw = "{\"request_id\":\"r\",\"tenant_id\":\"t\",\"mailboxes\":" + json(mailboxes) + "}";
        OnboardingRequest request = INBOUND.parseOnboarding(raw, new DefaultExchange(new DefaultCamelContext()));
        List<String> expectedValid = mailboxes.stream().map(m -> m.trim().toLowerCase(Locale.ROOT))
                .filter(MailboxAddress::isValid).distinct().toList();
        assertThat(request.mailboxes()).containsExactlyElementsOf(expectedValid);
        // What is sent to Nylas is valid, lower-cased, once; every other distinct string gets its own answer.
        assertThat(request.mailboxes()).allMatch(MailboxAddress::isValid).doesNotHaveDuplicates();
        long distinctInvalid = mailboxes.stream().map(m -> m.trim().toLowerCase(Locale.ROOT))
                .filter(m -> !MailboxAddress.isValid(m)).distinct().count();
        assertThat(request.invalidMailboxes()).hasSize((int) distinctInvalid);
        assertThat(request.invalidMailboxes()).allSatisfy(i -> assertThat(mailboxes).contains(i.given()));
    }

    @Property(tries = 200, seed = "20261201")
    void theSameAddressInAnyCaseIsOneMailbox(@ForAll("addresses") String address) {
        // "In any case": each character in upper or lower case (not String.toUpperCase, which turns ß into SS).
        List<String> variants = List.of(address, perCharacter(address, true), perCharacter(address, false), " " + address + " ");
        String raw = "{\"request_id\":\"r\",\"tenant_id\":\"t\",\"mailboxes\":" + json(variants) + "}";
        OnboardingRequest request = INBOUND.parseOnboarding(raw, new DefaultExchange(new DefaultCamelContext()));
        // Upper-casing can make an address invalid (a quoted local part), but never two mailboxes of one.
        assertThat(request.mailboxes()).hasSizeLessThanOrEqualTo(1).allMatch(m -> m.equals(m.toLowerCase(Locale.ROOT)));
    }

    // ---- generators ------------------------------------------------------------------------------

    @Provide
    Arbitrary<String> addresses() {
        return Combinators.combine(localParts(), domains()).as((local, domain) -> local + "@" + domain)
                .filter(a -> a.length() <= MailboxAddress.MAX_LENGTH);
    }

    static Arbitrary<String> localParts() {
        Arbitrary<Character> atext = Arbitraries.oneOf(
                Arbitraries.chars().range('a', 'z'), Arbitraries.chars().range('A', 'Z'), Arbitraries.chars().range('0', '9'),
                Arbitraries.of(ATEXT_SPECIALS.chars().mapToObj(c -> (char) c).toList()),
                Arbitraries.of('é', 'ü', 'ß', 'ø', 'ñ', 'ç', 'ж', 'λ', '中', '文', 'あ'));
        Arbitrary<String> atom = atext.list().ofMinSize(1).ofMaxSize(12).map(MailboxAddressProperties::string);
        Arbitrary<String> dotAtom = atom.list().ofMinSize(1).ofMaxSize(4).map(atoms -> String.join(".", atoms));
        Arbitrary<Character> qtext = Arbitraries.chars().range(' ', '~').filter(c -> c != '"' && c != '\\');
        Arbitrary<String> quoted = qtext.list().ofMinSize(0).ofMaxSize(20).map(cs -> "\"" + string(cs) + "\"");
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(9, dotAtom),
                        net.jqwik.api.Tuple.of(1, quoted))
                .filter(local -> local.getBytes(StandardCharsets.UTF_8).length <= 64);
    }

    static Arbitrary<String> domains() {
        Arbitrary<String> label = Arbitraries.oneOf(ldhLabels(1, 20), idnLabels());
        Arbitrary<String> tld = Arbitraries.oneOf(
                Arbitraries.strings().withCharRange('a', 'z').ofMinLength(2).ofMaxLength(18),
                ldhLabels(2, 15).filter(l -> !l.chars().allMatch(Character::isDigit)),
                idnLabels(),
                Arbitraries.of("example", "technology", "museum", "co", "xn--p1ai", "рф", "中国", "photography"));
        return Combinators.combine(label.list().ofMinSize(1).ofMaxSize(3), tld)
                .as((labels, top) -> String.join(".", labels) + "." + top);
    }

    static Arbitrary<String> ldhLabels(int min, int max) {
        Arbitrary<Character> alnum = Arbitraries.oneOf(Arbitraries.chars().range('a', 'z'), Arbitraries.chars().range('A', 'Z'),
                Arbitraries.chars().range('0', '9'));
        Arbitrary<Character> ldh = Arbitraries.oneOf(alnum, Arbitraries.just('-'));
        return Combinators.combine(alnum, ldh.list().ofMinSize(Math.max(0, min - 2)).ofMaxSize(max - 2), alnum)
                .as((first, middle, last) -> first + string(middle) + last)
                .filter(l -> l.length() >= min && !(l.length() > 3 && l.charAt(2) == '-' && l.charAt(3) == '-'));
    }

    static Arbitrary<String> idnLabels() {
        Arbitrary<Character> letter = Arbitraries.oneOf(
                Arbitraries.chars().range('a', 'z'),
                Arbitraries.of('à', 'á', 'â', 'ä', 'é', 'è', 'ï', 'ö', 'ü', 'ç', 'ñ', 'ø', 'å'),
                Arbitraries.chars().range('а', 'я'),
                Arbitraries.chars().range('α', 'ω').filter(c -> c != 'ς'),
                Arbitraries.chars().range('\u4E00', '\u4E80'));
        return letter.list().ofMinSize(1).ofMaxSize(10).map(MailboxAddressProperties::string)
                .filter(l -> !l.chars().allMatch(c -> c < 0x80));
    }

    @Provide
    Arbitrary<String> broken() {
        Arbitrary<String> plainAddresses = Combinators.combine(ldhLabels(1, 10), ldhLabels(1, 10), ldhLabels(2, 6))
                .as((local, domain, top) -> local + "@" + domain + "." + top + (top.chars().allMatch(Character::isDigit) ? "x" : ""));
        return Combinators.combine(plainAddresses, Arbitraries.integers().between(0, 13), Arbitraries.chars().range('\u0000', '\u001F'))
                .as(MailboxAddressProperties::breakOneRule);
    }

    static String breakOneRule(String valid, int rule, char control) {
        int at = valid.indexOf('@');
        String local = valid.substring(0, at);
        String domain = valid.substring(at + 1);
        return switch (rule) {
            case 0 -> local + domain;                                  // no @
            case 1 -> local + " x@" + domain;                          // a space
            case 2 -> local + "..x@" + domain;                         // two dots
            case 3 -> "." + valid;                                     // leading dot
            case 4 -> local + ".@" + domain;                           // dot before @
            case 5 -> local + "@-" + domain;                           // label starts with a hyphen
            case 6 -> local + "@" + domain.replace(".", "..");         // empty label
            case 7 -> local + "@" + domain.substring(0, domain.lastIndexOf('.')) + ".123"; // numeric TLD
            case 8 -> local + control + "@" + domain;                  // control character
            case 9 -> local + "@" + domain.replace(".", "");           // no dot in the domain
            case 10 -> local + "@" + "d".repeat(64) + "." + domain;    // label over 63
            case 11 -> "l".repeat(65) + "@" + domain;                  // local part over 64 octets
            case 12 -> "@" + domain;                                   // empty local part
            default -> local + "@";                                    // empty domain
        };
    }

    @Provide
    Arbitrary<List<String>> mailboxLists() {
        Arbitrary<String> any = Arbitraries.oneOf(addresses(), broken(), Arbitraries.strings().ofMaxLength(40),
                addresses().map(a -> a.toUpperCase(Locale.ROOT)));
        return any.list().ofMaxSize(30);
    }

    static String perCharacter(String text, boolean upper) {
        StringBuilder out = new StringBuilder();
        text.codePoints().forEach(c -> out.appendCodePoint(upper ? Character.toUpperCase(c) : Character.toLowerCase(c)));
        return out.toString();
    }

    static String string(List<Character> chars) {
        return chars.stream().map(String::valueOf).collect(Collectors.joining());
    }

    static String json(List<String> values) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(values);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
