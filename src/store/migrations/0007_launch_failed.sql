-- CVM's LAUNCH_FAILED: an instance whose launch failed before it ever ran. hearth's status for it
-- stays Stopped (ECS has no such state); this flag lets the CVM dialect tell it from an instance
-- that was stopped. Set by the supervisor when a launch fails and the instance has no start
-- time; cleared when the instance reaches Running. 0/1, as every boolean in this store.

ALTER TABLE instances ADD COLUMN launch_failed BIGINT NOT NULL DEFAULT 0;
