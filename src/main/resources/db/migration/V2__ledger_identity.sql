-- One row: this ledger's identity, a random id written by the first instance that starts on it.
-- Every instance tags its Kafka consumers with it, so instances of one consumer group that keep
-- different ledgers (two H2 files behind one Kafka cluster) can tell, and say so.
create table ledger_identity (
    singleton  integer     primary key check (singleton = 1),
    ledger_id  varchar(36) not null,
    created_at timestamp with time zone not null
);
