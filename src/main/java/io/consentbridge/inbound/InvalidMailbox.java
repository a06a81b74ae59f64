package io.consentbridge.inbound;

/** A mailbox string that is not an e-mail address: {@code given} exactly as the request had it, and why. */
public record InvalidMailbox(String given, String problem) {
}
