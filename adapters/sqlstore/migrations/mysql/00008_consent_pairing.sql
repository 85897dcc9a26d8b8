-- +goose Up
-- A tap in wx.requestSubscribeMessage is told twice, by the page and by
-- WeChat's subscribe_msg_popup_event, and counts once (domain.Consent.Credit):
-- unpaired counts the accepts waiting for their echo from the other source
-- (> 0 the client's, < 0 WeChat's), unpaired_at is when the last accept was
-- told, in Unix microseconds (0: never), so the pairing is the same
-- arithmetic on every database.
ALTER TABLE wx_subscriptions
    ADD COLUMN unpaired    INT    NOT NULL DEFAULT 0,
    ADD COLUMN unpaired_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE wx_subscriptions DROP COLUMN unpaired_at, DROP COLUMN unpaired;
