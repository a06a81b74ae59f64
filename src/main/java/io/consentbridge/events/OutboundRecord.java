package io.consentbridge.events;

/**
 * One record to be written to Kafka: its topic, its key, the partition when it is chosen (grant
 * work), and the value. The ledger keeps these in its outbox until the relay has sent them.
 */
public record OutboundRecord(String topic, String key, Integer partition, String payload) {
}
