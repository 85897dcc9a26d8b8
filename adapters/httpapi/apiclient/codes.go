package apiclient

import "fmt"

// CodeInfo explains a contract code in English, for developer tools (wxsim,
// make demo): a client shows the contract's msg, often Chinese, which alone
// tells a developer little.
type CodeInfo struct {
	Name    string // the error kind's name, as the server's log writes it
	Meaning string // what it means and what to do
}

// codes explains every contract code (docs/api-contract.md, "Envelope and
// codes"); a test holds it to the served OpenAPI document's list.
var codes = map[int]CodeInfo{
	0:  {"ok", "success"},
	1:  {"invalid_input", "a parameter is missing or malformed, or the route or method is unknown: fix the request"},
	2:  {"unauthenticated", "the token is missing, malformed, unknown, expired or revoked: wx.login again"},
	3:  {"bad_code", "WeChat rejected the login code (invalid, used, or a risky user), or another client used it: wx.login again"},
	4:  {"undecryptable", "the data does not decrypt under the session's key (a later wx.login replaced it): wx.login, then fetch the data again"},
	5:  {"watermark", "the data's watermark is missing, of another app or too old: fetch the data again"},
	6:  {"signature", "the signature is not sha1(rawData + session_key): fetch the data again"},
	7:  {"rate_limited", "too many requests (Retry-After says when to try again), or the client cancelled: back off"},
	8:  {"upstream", "WeChat, or the service behind the gateway, is unreachable, failing or timed out: retry later"},
	9:  {"unavailable", "the database or the session store does not answer: retry later"},
	10: {"internal", "an unexpected server error, in the server's log under the request id: retry later"},
	11: {"too_large", "the body is over its limit, or of a content type the server does not read: fix the request"},
	12: {"content_rejected", "WeChat's content check called the text risky: ask the user for other text"},
	13: {"forbidden", "the API key lacks this route's scope or app (internal listener only): use a key that has it"},
}

// Explain returns what code means; an unknown code is named as such.
func Explain(code int) CodeInfo {
	if c, ok := codes[code]; ok {
		return c
	}
	return CodeInfo{"unknown", "not a code of the contract"}
}

// Describe tells a developer what an answer means: its code, the code's
// name, the contract's msg, the English explanation and the detail, when
// the server gave one. For example:
//
//	code 2 unauthenticated: 无效的token (the token is missing, …: wx.login again)
func (e Envelope[T]) Describe() string {
	c := Explain(e.Code)
	s := fmt.Sprintf("code %d %s: %s (%s)", e.Code, c.Name, e.Msg, c.Meaning)
	if e.Detail != "" {
		s += "; " + e.Detail
	}
	return s
}
