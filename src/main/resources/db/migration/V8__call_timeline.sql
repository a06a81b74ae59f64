-- One rate budget for the deployment (NYLAS_MAX_RPS), kept as one time line of turns: an instance
-- about to call Nylas reserves the next few turns, evenly spaced, after the last one any instance
-- reserved (next_us: microseconds since the epoch by the database's clock, so the instances' own
-- clocks need not agree). Used when several instances can share the ledger (PostgreSQL); an
-- instance alone on an H2 file keeps its time line in memory.
create table call_timeline (
    name    varchar(32) primary key,
    next_us bigint      not null
);
insert into call_timeline (name, next_us) values ('nylas', 0);
