-- Instances, their security-group membership and their disks (ECS 2014-05-26).
-- Portable SQL: TEXT/BIGINT only, booleans 0/1, `seq` written by the application inside the
-- serialized write transaction (MAX(seq) + 1); listings are ordered by it.
--
-- status/intent is the contract with the instance supervisor: `status` is the ECS status
-- (Pending, Starting, Running, Stopping, Stopped); `intent` is NULL when settled, or what the
-- supervisor must do next: 'start', 'stop', 'force_stop', 'reboot', 'force_reboot', 'delete'.
-- API calls set both in one transaction and wake the supervisor; the supervisor acts, moves
-- status and clears intent.

CREATE TABLE instances (
    id                         TEXT PRIMARY KEY,
    seq                        BIGINT NOT NULL UNIQUE,
    region_id                  TEXT NOT NULL,
    zone_id                    TEXT NOT NULL,
    instance_type              TEXT NOT NULL,
    vcpus                      BIGINT NOT NULL,
    memory_mib                 BIGINT NOT NULL,
    image_id                   TEXT NOT NULL,
    os_type                    TEXT NOT NULL,
    hostname                   TEXT NOT NULL,
    name                       TEXT NOT NULL,
    description                TEXT NOT NULL,
    vpc_id                     TEXT NOT NULL,
    vswitch_id                 TEXT NOT NULL,
    private_ip                 TEXT NOT NULL,
    mac                        TEXT NOT NULL UNIQUE,
    key_pair_name              TEXT NOT NULL,
    -- SHA-512 crypt of the Password; the password itself is never stored.
    password_hash              TEXT NOT NULL,
    -- UserData exactly as given (Base64), '' when none.
    user_data                  TEXT NOT NULL,
    status                     TEXT NOT NULL,
    intent                     TEXT,
    -- KeepCharging / StopCharging / Not-applicable (as DescribeInstances reports it).
    stopped_mode               TEXT NOT NULL,
    deletion_protection        BIGINT NOT NULL,
    auto_release_time          TEXT NOT NULL,
    -- Billing parameters, validated and recorded as given (hearth charges nothing).
    instance_charge_type       TEXT NOT NULL,
    internet_charge_type       TEXT NOT NULL,
    internet_max_bandwidth_in  BIGINT NOT NULL,
    internet_max_bandwidth_out BIGINT NOT NULL,
    period                     BIGINT NOT NULL,
    period_unit                TEXT NOT NULL,
    auto_renew                 BIGINT NOT NULL,
    auto_renew_period          BIGINT NOT NULL,
    spot_strategy              TEXT NOT NULL,
    spot_price_limit           TEXT NOT NULL,
    spot_duration              BIGINT NOT NULL,
    spot_interruption_behavior TEXT NOT NULL,
    io_optimized               TEXT NOT NULL,
    credit_specification       TEXT NOT NULL,
    security_enhancement       TEXT NOT NULL,
    resource_group_id          TEXT NOT NULL,
    -- Instance metadata options.
    http_endpoint              TEXT NOT NULL,
    http_tokens                TEXT NOT NULL,
    http_put_hop_limit         BIGINT NOT NULL,
    metadata_tags              TEXT NOT NULL,
    creation_time              TEXT NOT NULL,
    start_time                 TEXT NOT NULL,
    -- Two instances can never share an address, even under concurrent RunInstances.
    UNIQUE (vswitch_id, private_ip)
);
CREATE INDEX instances_by_status ON instances (status, seq);
CREATE INDEX instances_by_vpc ON instances (vpc_id, seq);
CREATE INDEX instances_by_vswitch ON instances (vswitch_id, seq);
CREATE INDEX instances_by_zone ON instances (zone_id, seq);
CREATE INDEX instances_by_name ON instances (name, seq);
CREATE INDEX instances_by_intent ON instances (intent);

CREATE TABLE instance_security_groups (
    instance_id       TEXT NOT NULL,
    security_group_id TEXT NOT NULL,
    position          BIGINT NOT NULL,
    PRIMARY KEY (instance_id, security_group_id)
);
CREATE INDEX instance_security_groups_by_group ON instance_security_groups (security_group_id, instance_id);

-- Disks: files `<data_dir>/disks/<id>.raw`. instance_id is NULL for an available (detached)
-- disk, kept when its instance was deleted with DeleteWithInstance=false.
CREATE TABLE disks (
    id                   TEXT PRIMARY KEY,
    seq                  BIGINT NOT NULL UNIQUE,
    instance_id          TEXT,
    region_id            TEXT NOT NULL,
    zone_id              TEXT NOT NULL,
    -- 'system' or 'data'.
    disk_type            TEXT NOT NULL,
    category             TEXT NOT NULL,
    size_gib             BIGINT NOT NULL,
    performance_level    TEXT NOT NULL,
    -- /dev/xvda for the system disk, /dev/xvdb, /dev/xvdc, ... for data disks in N order.
    device               TEXT NOT NULL,
    order_index          BIGINT NOT NULL,
    delete_with_instance BIGINT NOT NULL,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL,
    image_id             TEXT NOT NULL,
    path                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    creation_time        TEXT NOT NULL,
    attached_time        TEXT NOT NULL,
    detached_time        TEXT NOT NULL
);
CREATE INDEX disks_by_instance ON disks (instance_id, order_index);
CREATE INDEX disks_by_zone ON disks (zone_id, seq);
