package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// Multi is WeChat for several apps at once, each a Sandbox with its own
// users, keys and tokens, behind one address: requests are routed by the
// appid they carry (jscode2session and the token calls), by the access
// token they carry (the server API), or by an "appid" in the client face's
// body or query (the first app when none is named).
type Multi struct {
	apps []*Sandbox
	byID map[string]*Sandbox
}

// NewMulti returns sandboxes for the apps o describes; the first is the
// default. Options.UnionIDs should be the same for all: a person's unionid
// is the same in every app, as on WeChat.
func NewMulti(o []Options) *Multi {
	m := &Multi{byID: map[string]*Sandbox{}}
	for _, opt := range o {
		sb := New(opt)
		m.apps = append(m.apps, sb)
		m.byID[sb.AppID()] = sb
	}
	return m
}

// App returns the sandbox of appID, or nil.
func (m *Multi) App(appID string) *Sandbox { return m.byID[appID] }

// Apps returns every app's sandbox, the default first.
func (m *Multi) Apps() []*Sandbox { return m.apps }

// Handler routes each request to its app's sandbox.
func (m *Multi) Handler() http.Handler {
	handlers := map[*Sandbox]http.Handler{}
	for _, sb := range m.apps {
		handlers[sb] = sb.Handler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers[m.route(r)].ServeHTTP(w, r)
	})
}

// route picks the app a request is for; a request no app claims goes to
// the default one, which answers it as WeChat would (invalid appid, or
// invalid credential).
func (m *Multi) route(r *http.Request) *Sandbox {
	q := r.URL.Query()
	if sb := m.byID[q.Get("appid")]; sb != nil {
		return sb
	}
	if tok := q.Get("access_token"); tok != "" {
		for _, sb := range m.apps {
			sb.mu.Lock()
			ok := sb.validLocked(tok)
			sb.mu.Unlock()
			if ok {
				return sb
			}
		}
	}
	if r.Body != nil && r.Method == http.MethodPost {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body = io.NopCloser(bytes.NewReader(body))
		var b struct {
			AppID string `json:"appid"`
		}
		if json.Unmarshal(body, &b) == nil {
			if sb := m.byID[b.AppID]; sb != nil {
				return sb
			}
		}
	}
	return m.apps[0]
}
