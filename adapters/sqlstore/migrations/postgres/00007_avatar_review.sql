-- +goose Up
-- An uploaded avatar waiting for WeChat's image check (domain.AvatarReview):
-- avatar_object stays the published one until the verdict; the pending one
-- is shown to its user only. avatar_review_since is in Unix microseconds
-- (0: none pending), so the sweeper's query is the same on every database.
ALTER TABLE wx_users
    ADD COLUMN pending_avatar_object VARCHAR(80)  NOT NULL DEFAULT '',
    ADD COLUMN avatar_review         VARCHAR(16)  NOT NULL DEFAULT '',
    ADD COLUMN avatar_trace_id       VARCHAR(191) NOT NULL DEFAULT '',
    ADD COLUMN avatar_review_since   BIGINT       NOT NULL DEFAULT 0;
CREATE INDEX wx_users_pending_avatar ON wx_users (pending_avatar_object);
CREATE INDEX wx_users_avatar_trace ON wx_users (app_id, avatar_trace_id);
CREATE INDEX wx_users_avatar_review ON wx_users (avatar_review, avatar_review_since);

-- +goose Down
DROP INDEX wx_users_avatar_review;
DROP INDEX wx_users_avatar_trace;
DROP INDEX wx_users_pending_avatar;
ALTER TABLE wx_users DROP COLUMN avatar_review_since, DROP COLUMN avatar_trace_id, DROP COLUMN avatar_review, DROP COLUMN pending_avatar_object;
