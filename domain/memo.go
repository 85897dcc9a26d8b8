package domain

import (
	"crypto/sha256"
	"encoding/binary"
)

// ProfileMemo is what the session store keeps of a user's last profile
// save, next to the session key: mini-programs send the same getUserInfo
// profile at every launch, and with the memo the same profile again is
// answered without the user database.
//
// A memo is only as good as its generation: every change to the user
// outside the save moves the generation on (SessionStore.ForgetProfile), and
// a memo is kept only if the generation did not move between the save's
// read of the session and its write of the memo.
type ProfileMemo struct {
	// Sent is the digest of the payload profile the save applied.
	Sent ProfileDigest
	// User is the user as stored after the save.
	User User
}

// IsZero reports whether m holds no memo.
func (m ProfileMemo) IsZero() bool { return m.Sent == ProfileDigest{} }

// For reports whether m is a memo of the user id.
func (m ProfileMemo) For(id Identity) bool { return !m.IsZero() && m.User.Identity() == id }

// Answers reports whether m answers a save of a payload profile of digest
// sent by session s: the same profile, for the same user.
func (m ProfileMemo) Answers(s Session, sent ProfileDigest) bool {
	return m.For(s.Identity()) && m.Sent == sent
}

// ProfileDigest identifies a payload profile: the SHA-256 of its fields,
// each prefixed by its length, so no two profiles share one.
type ProfileDigest [sha256.Size]byte

// Digest returns the digest of p as it arrived (before Sanitized).
func (p Profile) Digest() ProfileDigest {
	var buf [512]byte
	b := buf[:0]
	for _, s := range [...]string{p.NickName, p.AvatarURL, p.Language, p.City, p.Province, p.Country} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, int64(p.Gender))
	return sha256.Sum256(b)
}
