package domain

import (
	"strconv"
	"unicode/utf8"
)

// parseUserInfoFast reads the shape WeChat sends — one flat object of plain
// strings and numbers, and the watermark object — with no allocation but
// one string holding every field's text. Anything else (escapes, invalid
// UTF-8, nested values, keys that differ from WeChat's only in case, …) makes
// it decline (ok false), and encoding/json decides: so it accepts nothing
// encoding/json would not, and reads what it accepts as encoding/json would
// (FuzzParseUserInfo holds it to that).
func parseUserInfoFast(b []byte) (UserInfo, bool) {
	p := fastParser{b: b}
	var sp spans
	if !p.object(&sp, false) {
		return UserInfo{}, false
	}
	p.ws()
	if p.i != len(p.b) {
		return UserInfo{}, false
	}
	s := string(b) // the one allocation: every field is a slice of it
	at := func(x span) string { return s[x.from:x.to] }
	info := UserInfo{
		OpenID:  at(sp.openID),
		UnionID: at(sp.unionID),
		Profile: Profile{
			NickName: at(sp.nickName), AvatarURL: at(sp.avatarURL), Language: at(sp.language),
			City: at(sp.city), Province: at(sp.province), Country: at(sp.country),
		},
		Watermark: Watermark{AppID: at(sp.appID), Timestamp: sp.timestamp},
	}
	if sp.gender.to > sp.gender.from {
		info.Profile.Gender = parseGender(b[sp.gender.from:sp.gender.to])
	}
	return info, true
}

type span struct{ from, to int }

// spans are where each field's text is.
type spans struct {
	openID, unionID, nickName, avatarURL, language, city, province, country span
	gender                                                                  span // the raw value
	appID                                                                   span
	timestamp                                                               int64
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) eat(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, of valid UTF-8,
// and returns where its text is.
func (p *fastParser) str() (span, bool) {
	if !p.eat('"') {
		return span{}, false
	}
	from := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			sp := span{from, p.i}
			p.i++
			return sp, utf8.Valid(p.b[sp.from:sp.to])
		case c == '\\' || c < 0x20:
			return span{}, false
		}
		p.i++
	}
	return span{}, false
}

// number reads an integer: an optional minus and digits, no leading zero.
func (p *fastParser) number() (span, bool) {
	p.ws()
	from := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - digits
	if n == 0 || (n > 1 && p.b[digits] == '0') {
		return span{}, false
	}
	if p.i < len(p.b) { // a fraction or exponent: let encoding/json judge it
		if c := p.b[p.i]; c == '.' || c == 'e' || c == 'E' {
			return span{}, false
		}
	}
	return span{from, p.i}, true
}

// skip reads a value no field wants: a plain string, an integer, or a literal.
func (p *fastParser) skip() bool {
	p.ws()
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '-' || ('0' <= c && c <= '9'):
		_, ok := p.number()
		return ok
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
			p.i += len(lit)
			return true
		}
	}
	return false
}

// foldsTo tells whether key equals name but for ASCII case; keys with other
// bytes are reported as folding, since Unicode folding (K for K) could match.
func foldsTo(key []byte, name string) bool {
	if len(key) != len(name) {
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return true
			}
		}
		return false
	}
	for i, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		n := name[i]
		if 'A' <= n && n <= 'Z' {
			n += 'a' - 'A'
		}
		if c != n {
			return false
		}
	}
	return true
}

// fields of the payload and of its watermark, as WeChat spells them.
var (
	payloadFields   = []string{"openId", "unionId", "nickName", "avatarUrl", "gender", "language", "city", "province", "country", "watermark"}
	watermarkFields = []string{"appid", "timestamp"}
)

// object reads the payload's object (or the watermark's, when inner).
func (p *fastParser) object(sp *spans, inner bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	fields := payloadFields
	if inner {
		fields = watermarkFields
	}
	for {
		k, ok := p.str()
		if !ok || !p.eat(':') {
			return false
		}
		key := p.b[k.from:k.to]
		known := -1
		for i, f := range fields {
			if string(key) == f {
				known = i
				break
			}
		}
		if known < 0 {
			for _, f := range fields {
				if foldsTo(key, f) {
					return false // encoding/json would match it: leave it that case
				}
			}
			if !p.skip() {
				return false
			}
		} else if !p.field(sp, fields[known]) {
			return false
		}
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// field reads a known field's value; a later duplicate wins, as in encoding/json.
func (p *fastParser) field(sp *spans, key string) bool {
	var dst *span
	switch key {
	case "openId":
		dst = &sp.openID
	case "unionId":
		dst = &sp.unionID
	case "nickName":
		dst = &sp.nickName
	case "avatarUrl":
		dst = &sp.avatarURL
	case "language":
		dst = &sp.language
	case "city":
		dst = &sp.city
	case "province":
		dst = &sp.province
	case "country":
		dst = &sp.country
	case "appid":
		dst = &sp.appID
	case "gender":
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '"' {
			s, ok := p.str()
			sp.gender = span{s.from - 1, s.to + 1} // with its quotes, as json.RawMessage holds it
			return ok
		}
		n, ok := p.number()
		sp.gender = n
		return ok
	case "timestamp":
		n, ok := p.number()
		if !ok {
			return false
		}
		t, err := strconv.ParseInt(string(p.b[n.from:n.to]), 10, 64) // short: converted on the stack
		if err != nil {
			return false
		}
		sp.timestamp = t
		return true
	case "watermark":
		// A second watermark object replaces the first's fields only where
		// it sets them, as encoding/json fills the same struct again.
		return p.object(sp, true)
	}
	s, ok := p.str()
	*dst = s
	return ok
}
