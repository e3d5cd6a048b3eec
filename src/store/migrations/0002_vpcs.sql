-- VPCs and their VSwitches. `seq` orders listings (creation order); the application writes it
-- as MAX(seq) + 1 inside the serialized write transaction.

CREATE TABLE vpcs (
    vpc_id         TEXT PRIMARY KEY,
    seq            BIGINT NOT NULL,
    region_id      TEXT NOT NULL,
    vpc_name       TEXT NOT NULL,
    description    TEXT NOT NULL,
    cidr_block     TEXT NOT NULL,
    vrouter_id     TEXT NOT NULL,
    route_table_id TEXT NOT NULL,
    is_default     BIGINT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX vpcs_by_seq ON vpcs (seq);
CREATE INDEX vpcs_by_name ON vpcs (vpc_name, seq);

-- cidr_first/cidr_last are the block's first and last addresses as integers, so that the
-- overlap check is one indexed range query. route_table_id is the VPC's (it never changes),
-- kept here so listings need no join.
CREATE TABLE vswitches (
    vswitch_id         TEXT PRIMARY KEY,
    seq                BIGINT NOT NULL,
    vpc_id             TEXT NOT NULL REFERENCES vpcs (vpc_id),
    zone_id            TEXT NOT NULL,
    vswitch_name       TEXT NOT NULL,
    description        TEXT NOT NULL,
    cidr_block         TEXT NOT NULL,
    route_table_id     TEXT NOT NULL,
    cidr_first         BIGINT NOT NULL,
    cidr_last          BIGINT NOT NULL,
    available_ip_count BIGINT NOT NULL,
    is_default         BIGINT NOT NULL,
    status             TEXT NOT NULL,
    created_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX vswitches_by_seq ON vswitches (seq);
CREATE INDEX vswitches_by_vpc ON vswitches (vpc_id, seq);
CREATE INDEX vswitches_by_vpc_cidr ON vswitches (vpc_id, cidr_first);
CREATE INDEX vswitches_by_zone ON vswitches (zone_id, seq);
CREATE INDEX vswitches_by_name ON vswitches (vswitch_name, seq);

-- VSwitches per (VPC, zone), kept in the transaction that creates or deletes one, so that
-- DescribeVSwitches by VPC and/or zone gets its TotalCount without counting 10,000 rows.
CREATE TABLE vswitch_counts (
    vpc_id  TEXT NOT NULL,
    zone_id TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (vpc_id, zone_id)
);
CREATE INDEX vswitch_counts_by_zone ON vswitch_counts (zone_id);
