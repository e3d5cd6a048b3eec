-- Public IPs given to instances by AllocatePublicIpAddress from `[network] public_ip_pool`.
-- Portable SQL: TEXT only. The primary key makes an address belong to at most one instance and
-- the UNIQUE instance_id gives an instance at most one address, so even two allocations that
-- somehow raced could not both commit. The row is deleted with its instance (same transaction).

CREATE TABLE public_ips (
    address     TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL UNIQUE
);
