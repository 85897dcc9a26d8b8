-- +goose Up
-- An uploaded avatar waiting for WeChat's image check (domain.AvatarReview):
-- avatar_object stays the published one until the verdict; the pending one
-- is shown to its user only. avatar_review_since is in Unix microseconds
-- (0: none pending), so the sweeper's query is the same on every database.
ALTER TABLE wx_users
    ADD COLUMN pending_avatar_object VARCHAR(80)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN avatar_review         VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN avatar_trace_id       VARCHAR(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN avatar_review_since   BIGINT       NOT NULL DEFAULT 0,
    ADD KEY wx_users_pending_avatar (pending_avatar_object),
    ADD KEY wx_users_avatar_trace (app_id, avatar_trace_id),
    ADD KEY wx_users_avatar_review (avatar_review, avatar_review_since);

-- +goose Down
ALTER TABLE wx_users DROP KEY wx_users_avatar_review, DROP KEY wx_users_avatar_trace, DROP KEY wx_users_pending_avatar,
    DROP COLUMN avatar_review_since, DROP COLUMN avatar_trace_id, DROP COLUMN avatar_review, DROP COLUMN pending_avatar_object;
