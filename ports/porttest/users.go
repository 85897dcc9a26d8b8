package porttest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"wxbackend/domain"
	"wxbackend/ports"
)

// TestUserRepo runs the UserRepo contract against the repo newRepo returns.
// Cases use identifiers of their own, so one database may serve them all.
func TestUserRepo(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, func(t *testing.T) ports.UserRepo)
	}{
		{"EnsureCreatesThenReturnsTheSameUser", userEnsureCreatesThenReturnsTheSameUser},
		{"OpenIDIsUniquePerApp", userOpenIDIsUniquePerApp},
		{"OpenIDsDifferingInCaseAreTwoUsers", userOpenIDsDifferingInCaseAreTwoUsers},
		{"ConcurrentFirstLoginsMakeOneUser", userConcurrentFirstLoginsMakeOneUser},
		{"FirstLoginAnswersTheUserAsStored", userFirstLoginAnswersTheUserAsStored},
		{"UnionIDIsRecordedAndKept", userUnionIDIsRecordedAndKept},
		{"ConcurrentUpdatesAllLandWhole", userConcurrentUpdatesAllLandWhole},
		{"ProfileUpdateChangesOnlyProfileAndUpdateTime", userProfileUpdateChangesOnlyProfileAndUpdateTime},
		{"TextRoundTripsByteExact", userTextRoundTripsByteExact},
		{"OverlongTextIsCutByWholeCharacters", userOverlongTextIsCutByWholeCharacters},
		{"NULAndInvalidUTF8AreCleaned", userNULAndInvalidUTF8AreCleaned},
		{"UnknownUserIsNotFound", userUnknownUserIsNotFound},
		{"EveryWriteMovesTheRevision", userEveryWriteMovesTheRevision},
		{"UpdateUserWritesSourcesAndAvatar", userUpdateUserWritesSourcesAndAvatar},
		{"ConcurrentReadModifyWritesAllCount", userConcurrentReadModifyWritesAllCount},
		{"ByUnionIDFindsEveryAppsAccount", userByUnionIDFindsEveryAppsAccount},
		{"AvatarsInUseAnswersForManyNamesAtOnce", userAvatarsInUseAnswersForManyNamesAtOnce},
		{"AvatarReviewRoundTripsAndPendingIsInUse", userAvatarReviewRoundTripsAndPendingIsInUse},
		{"PingAnswers", userPingAnswers},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newRepo) })
	}
}

// t0 is when the suite's users are made.
var t0 = time.Date(2026, 11, 24, 8, 30, 0, 123456789, time.UTC)

// newKey returns the identity of a user no other case has.
func newKey(t *testing.T) domain.Identity {
	return domain.Identity{AppID: uniqueID(t, "wx")[:18], OpenID: uniqueID(t, "oGZUI0")}
}

func userEnsureCreatesThenReturnsTheSameUser(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	u, err := r.EnsureUser(ctx(t), key, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 || u.Identity() != key || !u.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("created %+v", u)
	}
	again, err := r.EnsureUser(ctx(t), key, "", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != u.ID || !again.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("second ensure returned %+v, want %+v", again, u)
	}
	got, err := r.Get(ctx(t), key)
	if err != nil || got.ID != u.ID {
		t.Fatalf("get: %+v, %v", got, err)
	}
}

func userOpenIDIsUniquePerApp(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	other := domain.Identity{AppID: uniqueID(t, "wx")[:18], OpenID: key.OpenID}
	a, err := r.EnsureUser(ctx(t), key, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.EnsureUser(ctx(t), other, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Fatal("one openid in two apps is two users")
	}
}

func userOpenIDsDifferingInCaseAreTwoUsers(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	lower := domain.Identity{AppID: key.AppID, OpenID: strings.ToLower(key.OpenID)}
	upper := domain.Identity{AppID: key.AppID, OpenID: strings.ToUpper(key.OpenID)}
	a, err := r.EnsureUser(ctx(t), lower, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.EnsureUser(ctx(t), upper, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || b.OpenID != upper.OpenID {
		t.Fatal("openids that differ only in case were taken for one user")
	}
}

func userConcurrentFirstLoginsMakeOneUser(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	const n = 50
	ids := make(chan int64, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := r.EnsureUser(ctx(t), key, "", t0)
			if err != nil {
				errs <- err
				return
			}
			ids <- u.ID
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatalf("a concurrent first login failed: %v", err)
	}
	var first int64
	for id := range ids {
		if first == 0 {
			first = id
		}
		if id != first {
			t.Fatalf("concurrent first logins made users %d and %d", first, id)
		}
	}
}

// A first login answers the user it created without reading it back: what it
// answers must be what a read finds, field by field.
func userFirstLoginAnswersTheUserAsStored(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	for _, unionID := range []string{"", "oUnionFirst"} {
		key := newKey(t)
		created, err := r.EnsureUser(ctx(t), key, unionID, t0)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := r.Get(ctx(t), key)
		if err != nil {
			t.Fatal(err)
		}
		sameUser(t, created, stored)
		if created.UnionID != unionID || created.Revision == 0 {
			t.Fatalf("created %+v with unionid %q", created, unionID)
		}
		// The first write after it applies to the revision it answered.
		if err := setProfile(t, r, key, domain.Profile{NickName: "after"}, t0); err != nil {
			t.Fatal(err)
		}
		if u, err := r.Get(ctx(t), key); err != nil || u.Revision <= created.Revision {
			t.Fatalf("revision after a write: %+v, %v (created at %d)", u, err, created.Revision)
		}
	}
}

// sameUser fails unless got and want are the same user, times compared as
// instants.
func sameUser(t *testing.T, got, want domain.User) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || !got.Review.Since.Equal(want.Review.Since) {
		t.Fatalf("times differ: %+v, want %+v", got, want)
	}
	got.CreatedAt, got.UpdatedAt, got.Review.Since = want.CreatedAt, want.UpdatedAt, want.Review.Since
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("user %+v, want %+v", got, want)
	}
}

// TestUserRepoServers runs the cases of the UserRepo contract that need two
// servers: a and b are repos of two processes (or two pools) on one
// database.
func TestUserRepoServers(t *testing.T, a, b ports.UserRepo) {
	t.Run("ConcurrentFirstLoginsOnTwoServersMakeOneUser", func(t *testing.T) {
		for round := 0; round < 5; round++ {
			key := newKey(t)
			const n = 20
			users := make(chan domain.User, n)
			errs := make(chan error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				r := a
				if i%2 == 1 {
					r = b
				}
				unionID := ""
				if i%4 == 0 { // some logins carry the unionid, as WeChat sends it
					unionID = "oUnionTwoServers"
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					u, err := r.EnsureUser(ctx(t), key, unionID, t0)
					if err != nil {
						errs <- err
						return
					}
					users <- u
				}()
			}
			close(start)
			wg.Wait()
			close(users)
			close(errs)
			for err := range errs {
				t.Fatalf("a concurrent first login failed: %v", err)
			}
			stored, err := a.Get(ctx(t), key)
			if err != nil {
				t.Fatal(err)
			}
			if stored.UnionID != "oUnionTwoServers" {
				t.Fatalf("stored unionid %q", stored.UnionID)
			}
			for u := range users {
				if u.ID != stored.ID || !u.CreatedAt.Equal(stored.CreatedAt) || u.Identity() != key {
					t.Fatalf("a login answered %+v; stored is %+v", u, stored)
				}
			}
			if fromB, err := b.Get(ctx(t), key); err != nil || fromB.ID != stored.ID {
				t.Fatalf("the other server reads %+v, %v", fromB, err)
			}
		}
	})
}

func userUnionIDIsRecordedAndKept(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
		t.Fatal(err)
	}
	u, err := r.EnsureUser(ctx(t), key, "oUnion1", t0)
	if err != nil || u.UnionID != "oUnion1" {
		t.Fatalf("unionid %q, %v", u.UnionID, err)
	}
	u, err = r.EnsureUser(ctx(t), key, "", t0)
	if err != nil || u.UnionID != "oUnion1" {
		t.Fatalf("login without unionid lost it: %q, %v", u.UnionID, err)
	}
	if err := setProfile(t, r, key, domain.Profile{NickName: "n"}, t0); err != nil {
		t.Fatal(err)
	}
	if u, err = r.Get(ctx(t), key); err != nil || u.UnionID != "oUnion1" {
		t.Fatalf("profile update without unionid lost it: %q, %v", u.UnionID, err)
	}
	if u, err = r.EnsureUser(ctx(t), key, "oUnion2", t0); err != nil || u.UnionID != "oUnion2" {
		t.Fatalf("a login with a new unionid: %q, %v", u.UnionID, err)
	}
}

func userConcurrentUpdatesAllLandWhole(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	written := map[string]string{}
	for i := 0; i < n; i++ {
		nick, city := fmt.Sprintf("writer %d ✍️", i), fmt.Sprintf("city %d", i)
		written[nick] = city
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if err := setProfile(t, r, key, domain.Profile{NickName: nick, City: city}, t0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := r.Get(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if city, ok := written[got.Profile.NickName]; !ok || got.Profile.City != city {
		t.Fatalf("stored %q in %q: not one writer's whole profile", got.Profile.NickName, got.Profile.City)
	}
}

func userProfileUpdateChangesOnlyProfileAndUpdateTime(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	created, err := r.EnsureUser(ctx(t), key, "u1", t0)
	if err != nil {
		t.Fatal(err)
	}
	p := domain.Profile{NickName: "Band", AvatarURL: "http://wx.qlogo.cn/mmopen/vi_32/a.png?x=1&y=2", Gender: 1,
		Language: "zh_CN", City: "Guangzhou", Province: "Guangdong", Country: "CN"}
	later := t0.Add(90 * time.Minute)
	if err := setProfile(t, r, key, p, later); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []domain.User{got} {
		if v.Profile != p {
			t.Fatalf("profile %+v, want %+v", v.Profile, p)
		}
		if v.ID != created.ID || v.Identity() != key || v.UnionID != "u1" || !v.CreatedAt.Equal(created.CreatedAt) {
			t.Fatalf("update changed identity or creation: %+v, was %+v", v, created)
		}
		if !v.UpdatedAt.Equal(later.Truncate(time.Microsecond)) {
			t.Fatalf("updated at %v, want %v", v.UpdatedAt, later)
		}
	}
}

func userTextRoundTripsByteExact(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	for name, s := range map[string]string{
		"emoji":       "Band 🎸😀🇨🇳",
		"zwj":         "👩‍👩‍👧‍👦 family, 🧑🏽‍💻 coder, 🏳️‍🌈",
		"cjk":         "微信用户 广州 중국어 日本語テキスト",
		"rtl":         "مرحبا שלום \u202eevil\u202c",
		"combining":   "e\u0301 n\u0303 Z\u0351\u0352\u0357",
		"sql":         `'; DROP TABLE wx_users; -- " \ %_ $1 ?`,
		"control":     "tab\tnew\nline\r\x7f",
		"supplement":  "𠀀𪚥 𝄞 \U0010FFFD",
		"max runes":   strings.Repeat("😀", domain.MaxNickNameLen),
		"blank edges": "  spaced  ",
	} {
		t.Run(name, func(t *testing.T) {
			key := newKey(t)
			if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
				t.Fatal(err)
			}
			p := domain.Profile{NickName: s, City: s, Province: "p", Country: "c", Language: "zh_CN"}
			if utf8.RuneCountInString(s) > domain.MaxPlaceLen {
				p.City = "c"
			}
			if err := setProfile(t, r, key, p, t0); err != nil {
				t.Fatal(err)
			}
			got, err := r.Get(ctx(t), key)
			if err != nil {
				t.Fatal(err)
			}
			if got.Profile.NickName != p.NickName || got.Profile.City != p.City {
				t.Fatalf("stored %q / %q, want %q / %q", got.Profile.NickName, got.Profile.City, p.NickName, p.City)
			}
		})
	}
}

func userOverlongTextIsCutByWholeCharacters(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
		t.Fatal(err)
	}
	nick := strings.Repeat("😀", domain.MaxNickNameLen) + "🎸tail"
	city := strings.Repeat("广", domain.MaxPlaceLen+5)
	if err := setProfile(t, r, key, domain.Profile{NickName: nick, City: city}, t0); err != nil {
		t.Fatalf("over-long text: %v", err)
	}
	got, err := r.Get(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	wantNick := strings.Repeat("😀", domain.MaxNickNameLen)
	wantCity := strings.Repeat("广", domain.MaxPlaceLen)
	for _, p := range []domain.Profile{got.Profile} {
		if p.NickName != wantNick || p.City != wantCity {
			t.Fatalf("stored %d/%d runes, want %d/%d", utf8.RuneCountInString(p.NickName),
				utf8.RuneCountInString(p.City), domain.MaxNickNameLen, domain.MaxPlaceLen)
		}
	}
}

func userNULAndInvalidUTF8AreCleaned(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := setProfile(t, r, key, domain.Profile{NickName: "a\x00b\x00", City: "x\xffy"}, t0); err != nil {
		t.Fatalf("NUL or invalid UTF-8: %v", err)
	}
	got, err := r.Get(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Profile.NickName != "ab" || got.Profile.City != "x\uFFFDy" {
		t.Fatalf("stored %q / %q, want %q / %q", got.Profile.NickName, got.Profile.City, "ab", "x\uFFFDy")
	}
}

func userUnknownUserIsNotFound(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	_, err := r.Get(ctx(t), key)
	wantKind(t, err, domain.KindNotFound)
	wantKind(t, setProfile(t, r, key, domain.Profile{NickName: "x"}, t0), domain.KindNotFound)
	_, err = r.Get(ctx(t), key)
	wantKind(t, err, domain.KindNotFound) // the failed update created nothing
}

func userEveryWriteMovesTheRevision(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	u, err := r.EnsureUser(ctx(t), key, "", t0)
	if err != nil || u.Revision == 0 {
		t.Fatalf("created revision %d, %v", u.Revision, err)
	}
	rev := u.Revision
	for name, write := range map[string]func() (domain.User, error){
		"update": func() (domain.User, error) {
			return r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
				u.Profile.City = fmt.Sprint("city", rev)
				return true, nil
			})
		},
		"new unionid": func() (domain.User, error) { return r.EnsureUser(ctx(t), key, fmt.Sprint("union", rev), t0) },
	} {
		answered, err := write()
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Get(ctx(t), key)
		if err != nil || got.Revision <= rev {
			t.Fatalf("%s: revision %d after %d, %v", name, got.Revision, rev, err)
		}
		if answered.Revision != got.Revision { // a cache keeps what a write answers
			t.Fatalf("%s answered revision %d, stored %d", name, answered.Revision, got.Revision)
		}
		rev = got.Revision
	}
}

func userUpdateUserWritesSourcesAndAvatar(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key, other := newKey(t), newKey(t) // other has no avatar
	for _, k := range []domain.Identity{key, other} {
		if _, err := r.EnsureUser(ctx(t), k, "", t0); err != nil {
			t.Fatal(err)
		}
	}
	avatar := randomBlobName(t)
	later := t0.Add(time.Hour)
	phone := domain.Phone{Number: "+86 138-0013-8000", PureNumber: "13800138000", CountryCode: "86"}
	got, err := r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
		u.Profile.NickName, u.UserSet, u.Avatar, u.UpdatedAt = "mine", domain.FieldNickName|domain.FieldAvatar, avatar, later
		u.Phone = phone
		u.UnionID = "not written"
		return true, nil
	})
	if err != nil || got.Avatar != avatar || got.UserSet != domain.FieldNickName|domain.FieldAvatar || got.UnionID != "" {
		t.Fatalf("answered %+v, %v", got, err)
	}
	read, err := r.Get(ctx(t), key)
	if err != nil || read.Avatar != avatar || read.UserSet != got.UserSet || read.Profile.NickName != "mine" || read.Phone != phone ||
		read.UnionID != "" || !read.UpdatedAt.Equal(later.Truncate(time.Microsecond)) {
		t.Fatalf("stored %+v, %v", read, err)
	}
	if inUse, err := r.AvatarsInUse(ctx(t), []string{avatar}); err != nil || !inUse[avatar] || len(inUse) != 1 {
		t.Fatalf("the avatar a user has: in use %v, %v", inUse, err)
	}
	// Unchanged: nothing written, the update time stays.
	got, err = r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
		u.UpdatedAt = later.Add(time.Hour)
		return false, nil
	})
	if err != nil || !got.UpdatedAt.Equal(later.Truncate(time.Microsecond)) {
		t.Fatalf("an update that changed nothing: %+v, %v", got, err)
	}
	// A failing update writes nothing and its error comes back.
	boom := domain.Malformed("x", "boom")
	_, err = r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
		u.Profile.NickName = "half-done"
		return true, boom
	})
	if err != boom {
		t.Fatalf("the update's error: %v", err)
	}
	if read, _ := r.Get(ctx(t), key); read.Profile.NickName != "mine" {
		t.Fatalf("a failed update wrote %q", read.Profile.NickName)
	}
	// The avatar goes out of use when its user moves on.
	if _, err := r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) { u.Avatar = ""; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if inUse, err := r.AvatarsInUse(ctx(t), []string{avatar}); err != nil || len(inUse) != 0 {
		t.Fatalf("after the change: in use %v, %v", inUse, err)
	}
}

func userConcurrentReadModifyWritesAllCount(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				_, err := r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
					u.Profile.City += "x" // a counter: lost updates would lose an x
					return true, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := r.Get(ctx(t), key)
	if err != nil || len(got.Profile.City) != writers*each {
		t.Fatalf("counted %d of %d updates, %v", len(got.Profile.City), writers*each, err)
	}
}

func userByUnionIDFindsEveryAppsAccount(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	union := uniqueID(t, "oUnion")
	a, b, other := newKey(t), newKey(t), newKey(t)
	b.AppID = a.AppID + "b" // the same person in another app
	for id, u := range map[domain.Identity]string{a: union, b: union, other: uniqueID(t, "oUnion")} {
		if _, err := r.EnsureUser(ctx(t), id, u, t0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.ByUnionID(ctx(t), union)
	if err != nil || len(got) != 2 || !slices.Contains(got, a) || !slices.Contains(got, b) {
		t.Fatalf("by unionid: %v, %v", got, err)
	}
	if got, err := r.ByUnionID(ctx(t), ""); err != nil || len(got) != 0 {
		t.Fatalf("an empty unionid matched %v, %v", got, err)
	}
}

func userAvatarsInUseAnswersForManyNamesAtOnce(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	var names, used []string
	for i := 0; i < 1200; i++ { // more than one query's worth on any database
		names = append(names, randomBlobName(t))
	}
	for _, i := range []int{0, 499, 500, 1199} {
		key := newKey(t)
		if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) { u.Avatar = names[i]; return true, nil }); err != nil {
			t.Fatal(err)
		}
		used = append(used, names[i])
	}
	inUse, err := r.AvatarsInUse(ctx(t), append(names, names[0])) // a name twice is asked once
	if err != nil || len(inUse) != len(used) {
		t.Fatalf("in use: %d names, %v; want %v", len(inUse), err, used)
	}
	for _, n := range used {
		if !inUse[n] {
			t.Fatalf("%s is in use: %v", n, inUse)
		}
	}
	if inUse, err := r.AvatarsInUse(ctx(t), nil); err != nil || len(inUse) != 0 {
		t.Fatalf("no names: %v, %v", inUse, err)
	}
}

func userPingAnswers(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	if err := newRepo(t).Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// setProfile replaces key's profile and update time through UpdateUser.
func setProfile(t *testing.T, r ports.UserRepo, key domain.Identity, p domain.Profile, at time.Time) error {
	t.Helper()
	_, err := r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
		u.Profile, u.UpdatedAt = p, at
		return true, nil
	})
	return err
}

// An avatar waiting for WeChat's check is stored beside the published one,
// reads back as written (its time to the microsecond), counts as in use (the
// collector must not delete it), and no longer once the verdict dropped it.
func userAvatarReviewRoundTripsAndPendingIsInUse(t *testing.T, newRepo func(t *testing.T) ports.UserRepo) {
	r := newRepo(t)
	key := newKey(t)
	if _, err := r.EnsureUser(ctx(t), key, "", t0); err != nil {
		t.Fatal(err)
	}
	published, pending := randomBlobName(t), randomBlobName(t)
	since := t0.Add(time.Minute + 1500*time.Nanosecond)
	if _, err := r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
		u.Avatar = published
		u.SubmitAvatar(pending, "trace-"+pending, since)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	read, err := r.Get(ctx(t), key)
	want := domain.AvatarReview{State: domain.AvatarPending, Pending: pending, TraceID: "trace-" + pending, Since: since.Truncate(time.Microsecond)}
	if err != nil || read.Avatar != published || read.Review != want {
		t.Fatalf("read %+v (%v), want avatar %s and review %+v", read, err, published, want)
	}
	if inUse, err := r.AvatarsInUse(ctx(t), []string{published, pending}); err != nil || !inUse[published] || !inUse[pending] {
		t.Fatalf("in use: %v, %v; want both", inUse, err)
	}
	has := func(ids []domain.Identity) bool { return slices.Contains(ids, key) }
	if early, err := r.PendingAvatars(ctx(t), since.Add(-time.Second), 1000); err != nil || has(early) {
		t.Fatalf("pending before it was submitted: %v, %v", early, err)
	}
	if due, err := r.PendingAvatars(ctx(t), since.Add(time.Second), 1000); err != nil || !has(due) {
		t.Fatalf("pending avatars at its time: %v, %v; want %v among them", due, err, key)
	}
	if id, err := r.ByAvatarTrace(ctx(t), key.AppID, "trace-"+pending); err != nil || id != key {
		t.Fatalf("by its trace: %v, %v; want %v", id, err, key)
	}
	for _, q := range [][2]string{{key.AppID, "trace-other"}, {"wxotherapp", "trace-" + pending}, {key.AppID, ""}} {
		if id, err := r.ByAvatarTrace(ctx(t), q[0], q[1]); domain.KindOf(err) != domain.KindNotFound {
			t.Fatalf("by trace %q of %s: %v, %v; want not found", q[1], q[0], id, err)
		}
	}
	if _, err := r.UpdateUser(ctx(t), key, func(u *domain.User) (bool, error) {
		_, ok := u.ResolveAvatar("trace-"+pending, false)
		return ok, nil
	}); err != nil {
		t.Fatal(err)
	}
	read, err = r.Get(ctx(t), key)
	if err != nil || read.Review != (domain.AvatarReview{State: domain.AvatarRejected}) || read.Avatar != published {
		t.Fatalf("after the verdict: %+v, %v", read, err)
	}
	if inUse, err := r.AvatarsInUse(ctx(t), []string{pending}); err != nil || len(inUse) != 0 {
		t.Errorf("a dropped avatar is still in use: %v, %v", inUse, err)
	}
	if due, err := r.PendingAvatars(ctx(t), since.Add(time.Second), 1000); err != nil || slices.Contains(due, key) {
		t.Errorf("still pending after the verdict: %v, %v", due, err)
	}
	if _, err := r.ByAvatarTrace(ctx(t), key.AppID, "trace-"+pending); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("found by its trace after the verdict: %v", err)
	}
}
