package io.consentbridge.kafka;

import org.apache.camel.component.kafka.DefaultKafkaClientFactory;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;

import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Kafka clients as Camel makes them, with each consumer's {@code client.id} naming the ledger its
 * instance keeps ({@code consent-bridge-<ledger id>-<n>}). A consumer group's members show their
 * client ids to anyone who asks the broker, which is how {@code LedgerSharingCheck} notices
 * instances that share Kafka but not the ledger.
 */
public class LedgerTaggedClients extends DefaultKafkaClientFactory {
    static final String PREFIX = "consent-bridge-";
    private static final int LEDGER_ID_LENGTH = 36;
    private final String ledgerId;
    private final AtomicInteger consumers = new AtomicInteger();

    public LedgerTaggedClients(String ledgerId) {
        this.ledgerId = ledgerId;
    }

    @Override
    public Consumer getConsumer(Properties kafkaProps) {
        Properties tagged = new Properties();
        tagged.putAll(kafkaProps);
        tagged.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId(ledgerId, consumers.incrementAndGet()));
        return super.getConsumer(tagged);
    }

    static String clientId(String ledgerId, int n) {
        return PREFIX + ledgerId + "-" + n;
    }

    /** The ledger id a client id names, if it is one of ours. */
    static Optional<String> ledgerOf(String clientId) {
        if (clientId == null || !clientId.startsWith(PREFIX) || clientId.length() < PREFIX.length() + LEDGER_ID_LENGTH) {
            return Optional.empty();
        }
        return Optional.of(clientId.substring(PREFIX.length(), PREFIX.length() + LEDGER_ID_LENGTH));
    }
}
