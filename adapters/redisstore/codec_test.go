package redisstore

import (
	"reflect"
	"testing"
	"time"

	"wxbackend/domain"
)

// A user's copy reads back as it was written; a damaged one reads as none.
func TestUserCodec_RoundTripsAndRefusesDamage(t *testing.T) {
	id := domain.Identity{AppID: "wxapp", OpenID: "o1"}
	at := time.Date(2026, 11, 30, 9, 0, 0, 123000, time.UTC)
	u := domain.User{ID: 1 << 40, AppID: id.AppID, OpenID: id.OpenID,
		UnionID: "u1", Profile: domain.Profile{NickName: "Band 🎸", AvatarURL: "https://a/b?c=d&e", Gender: 2, Language: "zh_CN",
			City: "广州", Province: "广东", Country: "中国"}, UserSet: domain.AllFields, Avatar: "ab.jpg",
		Phone: domain.Phone{Number: "+1 202-555-0100", PureNumber: "2025550100", CountryCode: "1"}, CreatedAt: at, UpdatedAt: at.Add(time.Hour), Revision: 17}
	b := encodeUser(u)
	if got, ok := decodeUser(b, id); !ok || !reflect.DeepEqual(got, u) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, u)
	}
	pending := u
	pending.Review = domain.AvatarReview{State: domain.AvatarPending, Pending: "cd.jpg", TraceID: "trace-1", Since: at.Add(time.Minute)}
	if got, ok := decodeUser(encodeUser(pending), id); !ok || !reflect.DeepEqual(got, pending) {
		t.Fatalf("a pending avatar read back\n%+v\nwant\n%+v", got, pending)
	}
	for name, bad := range map[string][]byte{
		"empty": nil, "another version": append([]byte{9}, b[1:]...), "cut": b[:len(b)-3], "trailing": append(append([]byte{}, b...), 0),
	} {
		if got, ok := decodeUser(bad, id); ok {
			t.Errorf("%s: read %+v", name, got)
		}
	}
}

// A token record keeps its issue time; records of versions 1 and 2,
// written before it was kept, still read, without it.
func TestTokenCodec_ReadsEveryVersion(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r := tokenRecord{appID: "wxapp", openID: "o1", expiresAt: at.Add(time.Hour), limit: at.Add(720 * time.Hour), issued: at}
	b := r.encode()
	if got, err := decodeToken(b); err != nil || got != r {
		t.Fatalf("read back %+v, %v; want %+v", got, err, r)
	}
	v2 := append([]byte{2}, b[1:17]...) // no issue time
	v2 = append(v2, b[25:]...)
	if got, err := decodeToken(v2); err != nil || !got.issued.IsZero() || got.limit != r.limit || got.openID != "o1" {
		t.Fatalf("version 2: %+v, %v", got, err)
	}
	v1 := append([]byte{1}, b[1:9]...) // no limit either
	v1 = append(v1, b[25:]...)
	if got, err := decodeToken(v1); err != nil || !got.issued.IsZero() || !got.limit.IsZero() || got.appID != "wxapp" {
		t.Fatalf("version 1: %+v, %v", got, err)
	}
	for name, bad := range map[string][]byte{"version 4": append([]byte{4}, b[1:]...), "version 0": append([]byte{0}, b[1:]...),
		"cut": b[:20], "trailing": append(append([]byte{}, b...), 0)} {
		if got, err := decodeToken(bad); err == nil {
			t.Errorf("%s: read %+v", name, got)
		}
	}
}

func BenchmarkUserDecode(b *testing.B) {
	id := domain.Identity{AppID: "wxapp", OpenID: "o1"}
	enc := encodeUser(domain.User{ID: 7, AppID: id.AppID, OpenID: id.OpenID, Revision: 3,
		Profile:   domain.Profile{NickName: "Band 🎸", AvatarURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/abcdef/132", Gender: 1, City: "Guangzhou"},
		CreatedAt: time.Now(), UpdatedAt: time.Now()})
	b.ReportAllocs()
	for b.Loop() {
		decodeUser(enc, id)
	}
}
