-- Grant health (contract §5): Nylas's grant notifications, expiry handled by cause, reconciliation.

-- Every notification id handled, so a notification delivered twice (or to two instances) is handled once.
create table nylas_notification (
    id          varchar(256) primary key,
    type        varchar(64)  not null,
    grant_id    varchar(128),
    received_at timestamp with time zone not null
);
create index nylas_notification_age on nylas_notification (received_at);

-- The mailbox whose restore is probing the tenant's expired grants (one call before many), and the
-- cause an operator has been told of (tenant.attention_needed), until the action that fixes it.
alter table tenant add column probe_email varchar(320);
alter table tenant add column attention_cause varchar(32);

create index mailbox_grant on mailbox (grant_id);

-- Work only one instance does at a time (the reconciliation sweep): whoever holds the lease.
create table sweep_lease (
    name   varchar(64) primary key,
    holder varchar(64) not null,
    until  timestamp with time zone not null
);
