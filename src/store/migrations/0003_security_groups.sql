-- Security groups and their rules (ECS 2014-05-26). Portable SQL: TEXT/BIGINT only.
-- `seq` is a per-table ordering number written by the application inside the serialized write
-- transaction (MAX(seq) + 1); listings are ordered by it and NextToken pages continue after it.

CREATE TABLE security_groups (
    id                  TEXT PRIMARY KEY,
    seq                 BIGINT NOT NULL UNIQUE,
    region_id           TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL,
    -- '' for a group created without a VpcId (classic network type).
    vpc_id              TEXT NOT NULL,
    group_type          TEXT NOT NULL,
    resource_group_id   TEXT NOT NULL,
    inner_access_policy TEXT NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX security_groups_by_region ON security_groups (region_id, seq);
-- Filters are equalities within a region, listed in seq order: each index serves both.
CREATE INDEX security_groups_by_vpc ON security_groups (region_id, vpc_id, seq);
CREATE INDEX security_groups_by_name ON security_groups (region_id, name, seq);

-- Groups per region, kept by every insert and delete of a group in the same transaction, so an
-- unfiltered DescribeSecurityGroups does not count 10,000 index entries on every call.
CREATE TABLE security_group_counts (
    region_id TEXT PRIMARY KEY,
    n         BIGINT NOT NULL
);

CREATE TABLE security_group_rules (
    id                TEXT PRIMARY KEY,
    security_group_id TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    direction         TEXT NOT NULL,
    protocol          TEXT NOT NULL,
    port_range        TEXT NOT NULL,
    source_port_range TEXT NOT NULL,
    -- The remote side: exactly one of peer_cidr / peer_group_id is non-empty.
    peer_cidr         TEXT NOT NULL,
    peer_group_id     TEXT NOT NULL,
    -- The optional local-side CIDR (DestCidrIp of an ingress rule, SourceCidrIp of an egress rule).
    local_cidr        TEXT NOT NULL,
    policy            TEXT NOT NULL,
    priority          BIGINT NOT NULL,
    nic_type          TEXT NOT NULL,
    description       TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    -- Everything that makes two rules "the same rule" (all but ID, description, time):
    -- authorizing an existing identity is a no-op.
    identity          TEXT NOT NULL,
    UNIQUE (security_group_id, identity)
);
CREATE INDEX security_group_rules_by_group ON security_group_rules (security_group_id, seq);
CREATE INDEX security_group_rules_by_peer ON security_group_rules (peer_group_id);
