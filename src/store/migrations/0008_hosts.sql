-- The hosts of a cluster: one row per node agent, written by the node itself at start and by its
-- heartbeat. A host is available while its heartbeat is younger than the cluster's timeout; the
-- times are the database's own clock (unix seconds), so the hosts' clocks need not agree.
-- `accepts` is 1 when instances may be placed there: its /dev/kvm boots guests, or it only
-- records instances (`--instances off`), or its operator accepted a PVM-only /dev/kvm.
-- `session` is random per node process: a second process with a live host's id is refused.

CREATE TABLE hosts (
    host_id TEXT PRIMARY KEY,
    zone_id TEXT NOT NULL,
    address TEXT NOT NULL,
    kvm TEXT NOT NULL,
    accepts BIGINT NOT NULL,
    vcpus BIGINT NOT NULL,
    memory_mib BIGINT NOT NULL,
    disk_gib BIGINT NOT NULL,
    session TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- The host an instance lives on ('' before placement: instances recorded by a single-host
-- hearth before hosts existed, claimed by the first node that starts).
ALTER TABLE instances ADD COLUMN host_id TEXT NOT NULL DEFAULT '';
CREATE INDEX instances_host ON instances (host_id);
