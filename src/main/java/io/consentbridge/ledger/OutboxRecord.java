package io.consentbridge.ledger;

/** One event waiting in the outbox for the relay. */
public record OutboxRecord(long id, String topic, String key, Integer partition, String payload) {
}
