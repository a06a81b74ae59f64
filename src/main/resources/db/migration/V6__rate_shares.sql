-- One rate budget for the deployment (NYLAS_MAX_RPS): the instances sharing this ledger, each
-- heard from every half second; an instance not heard from for a few seconds has left, and its
-- share goes back to the others.
create table rate_member (
    instance_id varchar(64) primary key,
    joined_at   timestamp with time zone not null,
    seen_at     timestamp with time zone not null
);
