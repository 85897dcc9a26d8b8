package domain

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanText is the one cleaning of text from any source (a decrypted
// payload, a user's edit, WeChat's answers) before it is kept or shown:
// invalid UTF-8 and NUL dropped; tabs and line breaks made spaces; every
// other control (C0, DEL, C1: an ESC sequence loses its ESC) and every
// bidirectional control (embeddings and overrides U+202A-U+202E, isolates
// U+2066-U+2069, marks U+200E, U+200F, U+061C) dropped, since they can
// reverse or hide how the text around them is shown; spaces trimmed; and at
// most max characters (whole code points) kept. Text with no visible
// character left (only spaces and zero-width or filler characters) is "".
// The zero-width joiner and variation selectors stay: emoji need them.
func CleanText(s string, max int) string {
	s = clean(s)
	if max >= 0 && len(s) > max {
		s = strings.TrimRightFunc(cutRunes(s, max), unicode.IsSpace)
		if !hasVisible(s) {
			return ""
		}
	}
	return s
}

// clean is CleanText without the length bound.
func clean(s string) string {
	if plain(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r), bidiControl(r):
			return -1
		}
		return r
	}, s)
	s = strings.TrimFunc(s, unicode.IsSpace)
	if !hasVisible(s) {
		return ""
	}
	return s
}

// plain reports whether s needs no cleaning: valid UTF-8 without controls
// or bidirectional controls, not starting or ending with a space, and with a
// visible character. Most text is, and is kept without a copy.
func plain(s string) bool {
	if s == "" {
		return true
	}
	visible := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || unicode.IsControl(r) || bidiControl(r) {
			return false
		}
		visible = visible || !invisible(r)
		i += n
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return visible && !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// bidiControl reports whether r is a bidirectional embedding, override,
// isolate or mark.
func bidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// invisible reports whether r shows nothing by itself: spaces, format
// characters (zero-width space and joiners U+200B-U+200D, word joiner U+2060,
// BOM U+FEFF, tags), combining marks and variation selectors, and the
// filler characters that render blank (Hangul fillers, braille blank).
func invisible(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E, 0x034F:
		return true
	}
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me, unicode.Zs, unicode.Zl, unicode.Zp)
}

// hasVisible reports whether s has a character that shows.
func hasVisible(s string) bool {
	for _, r := range s {
		if !invisible(r) {
			return true
		}
	}
	return false
}

// cutRunes keeps at most max code points of s.
func cutRunes(s string, max int) string {
	if len(s) <= max {
		return s // every rune takes at least one byte
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}

// wechatImageHosts are the hosts WeChat serves profile pictures from.
var wechatImageHosts = map[string]bool{
	"thirdwx.qlogo.cn": true,
	"wx.qlogo.cn":      true,
	"thirdqq.qlogo.cn": true,
	"qlogo.cn":         true,
}

// WeChatAvatarURL returns url when it is a picture on one of WeChat's image
// hosts (https; WeChat's older http URLs are upgraded, the hosts serve
// both), else "": a payload is the user's to alter, and what it claims as
// an avatar URL is shown to other clients, so a javascript: URL or another
// site's address is never kept.
func WeChatAvatarURL(s string) string {
	s = CleanText(s, MaxAvatarURLen)
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Port() != "" || u.Opaque != "" || !wechatImageHosts[strings.ToLower(u.Host)] {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		u.Scheme = "https"
	default:
		return ""
	}
	u.Host = strings.ToLower(u.Host)
	out := u.String()
	if len(out) > MaxAvatarURLen || strings.ContainsAny(out, " \"'<>\\`") {
		return ""
	}
	return out
}

// cleanPlace is CleanText for a place or a language (city, province,
// country, language): markup has no place in them, so '<' and '>' are
// dropped too, and a stored city is never HTML.
func cleanPlace(s string, max int) string {
	if strings.ContainsAny(s, "<>") {
		s = strings.Map(func(r rune) rune {
			if r == '<' || r == '>' {
				return -1
			}
			return r
		}, s)
	}
	return CleanText(s, max)
}
