package redisstore

import (
	"encoding/binary"
	"errors"
	"time"
)

// A token's value is a small binary record, not JSON: a version byte, the
// expiry in Unix milliseconds, (from version 2) the latest sliding may
// extend it to (0: none), then the appid and openid, each prefixed by a
// one-byte length (every field is at most 64 bytes). Version 1 records,
// written before the limit existed, still read.
const codecVersion = 2

var errCorrupt = errors.New("redis: corrupt session record")

// tokenRecord is stored under a token's digest.
type tokenRecord struct {
	appID, openID string
	expiresAt     time.Time
	limit         time.Time // zero: none
}

func (r tokenRecord) encode() []byte {
	b := make([]byte, 0, 1+16+2+len(r.appID)+len(r.openID))
	b = append(b, codecVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(r.expiresAt.UnixMilli()))
	var limit int64
	if !r.limit.IsZero() {
		limit = r.limit.UnixMilli()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(limit))
	b = appendString(b, r.appID)
	return appendString(b, r.openID)
}

func decodeToken(b []byte) (tokenRecord, error) {
	if len(b) < 9 || (b[0] != 1 && b[0] != codecVersion) {
		return tokenRecord{}, errCorrupt
	}
	r := tokenRecord{expiresAt: time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()}
	rest := b[9:]
	if b[0] == codecVersion {
		if len(rest) < 8 {
			return tokenRecord{}, errCorrupt
		}
		if limit := int64(binary.BigEndian.Uint64(rest[:8])); limit != 0 {
			r.limit = time.UnixMilli(limit).UTC()
		}
		rest = rest[8:]
	}
	var ok bool
	if r.appID, rest, ok = readString(rest); !ok {
		return tokenRecord{}, errCorrupt
	}
	if r.openID, rest, ok = readString(rest); !ok || len(rest) != 0 {
		return tokenRecord{}, errCorrupt
	}
	return r, nil
}

func appendString(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255] // never reached: the domain caps ids at 64 bytes
	}
	return append(append(b, byte(len(s))), s...)
}

func readString(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}
