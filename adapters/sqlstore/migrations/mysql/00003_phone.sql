-- +goose Up
-- The phone number the user shared (getPhoneNumber), looked up by app.
ALTER TABLE wx_users
    ADD COLUMN phone_number      VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN pure_phone_number VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN country_code      VARCHAR(8)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD KEY wx_users_app_phone (app_id, pure_phone_number);

-- +goose Down
ALTER TABLE wx_users DROP KEY wx_users_app_phone, DROP COLUMN country_code, DROP COLUMN pure_phone_number, DROP COLUMN phone_number;
