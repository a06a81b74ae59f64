// Posts an onboarding request as a CloudEvent (binary mode by default, structured with STRUCTURED=1),
// written by the CloudEvents SDK for JavaScript; the bundle reads its data as the request.
//   node docs/examples/send-onboarding.mjs '{"request_id":"req-0002","tenant_id":"fabrikam","mailboxes":["linus@fabrikam.com"]}'
import { Kafka as KafkaClient, logLevel } from "kafkajs";
import { CloudEvent, Kafka } from "cloudevents";

const brokers = (process.env.KAFKA_BROKERS ?? "localhost:9092").split(",");
const topic = process.env.ONBOARDING_TOPIC ?? "tenant-onboarding-requests";
const request = JSON.parse(process.argv[2]);
const event = new CloudEvent({ type: "com.example.tenant.onboarding", source: "/crm", subject: request.tenant_id,
  datacontenttype: "application/json", data: request });
const message = process.env.STRUCTURED ? Kafka.structured(event) : Kafka.binary(event);
// The SDK lists every attribute, unset ones as undefined: a record carries only those with a value.
const headers = Object.fromEntries(Object.entries(message.headers).filter(([, header]) => header !== undefined));
// In binary mode the SDK leaves the data as an object: the record value is its JSON.
const value = typeof message.value === "string" || Buffer.isBuffer(message.value) ? message.value : JSON.stringify(message.value);

const producer = new KafkaClient({ clientId: "onboarding-sender", brokers, logLevel: logLevel.ERROR }).producer();
await producer.connect();
await producer.send({ topic, messages: [{ key: request.tenant_id, value, headers }] });
await producer.disconnect();
console.log(`sent ${event.id} (${process.env.STRUCTURED ? "structured" : "binary"} mode)`);
