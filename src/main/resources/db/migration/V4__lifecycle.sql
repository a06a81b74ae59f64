-- Lifecycle after onboarding (contract §5): commands, secret expiry, deletions.
-- Tenant states now also: needs_reconsent, needs_secret_rotation, offboarding, offboarded.
alter table tenant alter column consent_status set data type varchar(32);
-- The Azure app id the tenant onboarded with (not a secret); null: the Nylas application's own app.
alter table tenant add column client_id varchar(255);
-- When the tenant's Azure client secret expires, when known; and the expiry already warned of.
alter table tenant add column client_secret_expires_at timestamp with time zone;
alter table tenant add column secret_warned_for timestamp with time zone;
-- The offboard command being carried out, until its tenant.offboarded is published.
alter table tenant add column offboard_request_id varchar(128);

-- Mailbox states now also: deleting (a DELETE of its grant is queued), deleted, delete_failed
-- (the grant is still live at Nylas), expired.
alter table mailbox add column deleted_by varchar(128);

-- Lifecycle commands seen, and whether each was carried out: a redelivered command that was
-- not finished is resumed, a finished one is recognised.
create table admin_command (
    request_id  varchar(128) primary key,
    tenant_id   varchar(128) not null,
    command     varchar(32)  not null,
    done        boolean      not null default false,
    received_at timestamp with time zone not null
);
create index mailbox_deleted_by on mailbox (tenant_id, deleted_by);
