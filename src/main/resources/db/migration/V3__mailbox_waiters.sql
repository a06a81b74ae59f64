-- Contract §2: every request that asks for a mailbox gets its own outcome. A mailbox asked for
-- again by another request while its grant is on its way is remembered here; when the outcome
-- comes, each such request gets it too.
create table mailbox_waiter (
    tenant_id  varchar(128) not null,
    email      varchar(320) not null,
    request_id varchar(128) not null,
    primary key (tenant_id, email, request_id)
);

-- The scope Nylas granted (a JSON list), so a later request for a granted mailbox can be told.
alter table mailbox add column grant_scope text;
