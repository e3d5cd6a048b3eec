-- SSH key pairs (ECS CreateKeyPair/ImportKeyPair). Only the public key is kept: a private key
-- created by CreateKeyPair is handed to the user once and never stored.
-- Names are unique in the region (this host serves one region); tags use resource type
-- 'keypair' with the key pair NAME as resource id, as ECS tags key pairs by name.
CREATE TABLE key_pairs (
    name              TEXT NOT NULL PRIMARY KEY,
    id                TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    public_key        TEXT NOT NULL,
    resource_group_id TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX key_pairs_by_created ON key_pairs (created_at, name);
CREATE INDEX key_pairs_by_fingerprint ON key_pairs (fingerprint);
