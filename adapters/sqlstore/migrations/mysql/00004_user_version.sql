-- +goose Up
-- A version per row, for updates that read, change and write a user without
-- holding a lock: the write applies only to the version read.
ALTER TABLE wx_users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE wx_users DROP COLUMN version;
