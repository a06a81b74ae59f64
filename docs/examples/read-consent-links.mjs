// Reads consent links from the topic tenant-consent-urls with stock libraries only: kafkajs and the
// CloudEvents SDK for JavaScript, which recognises each record as a CloudEvent in structured mode.
//   npm install --prefix docs/examples && node docs/examples/read-consent-links.mjs
// KAFKA_BROKERS (default localhost:9092) and CONSENT_URLS_TOPIC (default tenant-consent-urls) as for the bundle.
import { Kafka as KafkaClient, logLevel } from "kafkajs";
import { Kafka } from "cloudevents";

const brokers = (process.env.KAFKA_BROKERS ?? "localhost:9092").split(",");
const topic = process.env.CONSENT_URLS_TOPIC ?? "tenant-consent-urls";
const consumer = new KafkaClient({ clientId: "consent-link-reader", brokers, logLevel: logLevel.ERROR })
  .consumer({ groupId: `consent-link-reader-${process.pid}` });

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, value?.toString()]));
    const event = Kafka.toEvent({ key: message.key?.toString(), headers, value: message.value, timestamp: message.timestamp });
    console.log(`${event.type} ${event.subject} (${event.data.reason ?? "onboarding"}): ${event.data.consent_url}`);
  },
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => consumer.disconnect().finally(() => process.exit(0)));
}
