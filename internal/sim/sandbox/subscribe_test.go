package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

const (
	subToken = "sub-push-token"
	subKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// subWorld is a sandbox with push settings, a server's push receiver that
// opens what it is pushed, and a caller of the server API.
type subWorld struct {
	sb       *sandbox.Sandbox
	srv      *httptest.Server
	receiver *httptest.Server
	token    string

	mu     sync.Mutex
	events []domain.PushEvent
	// arrived has a value for each event received.
	arrived chan struct{}
}

func newSubWorld(t *testing.T) *subWorld {
	t.Helper()
	w := &subWorld{sb: sandbox.New(sandbox.Options{Push: sandbox.PushApp{Token: subToken, EncodingAESKey: subKey}}), arrived: make(chan struct{}, 64)}
	w.srv = httptest.NewServer(w.sb.Handler())
	t.Cleanup(w.srv.Close)
	w.receiver = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := r.URL.Query()
		f := domain.PushXML
		if strings.Contains(r.Header.Get("Content-Type"), "json") {
			f = domain.PushJSON
		}
		outer, err := domain.ReadPushBody(body, f)
		if err != nil || !domain.PushSignatureValid(q.Get("msg_signature"), subToken, q.Get("timestamp"), q.Get("nonce"), outer.Encrypt) {
			http.Error(rw, "refused", http.StatusForbidden)
			return
		}
		k, _ := domain.ParsePushKey(subKey)
		msg, _, err := domain.DecryptPush(k, outer.Encrypt)
		if err != nil {
			http.Error(rw, "refused", http.StatusForbidden)
			return
		}
		inner, err := domain.ReadPushBody(msg, f)
		if err != nil {
			http.Error(rw, "refused", http.StatusBadRequest)
			return
		}
		e, err := domain.ParsePush(sandbox.DefaultAppID, inner.Fields, time.Now())
		if err != nil {
			http.Error(rw, "refused", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.events = append(w.events, e)
		w.mu.Unlock()
		w.arrived <- struct{}{}
		_, _ = io.WriteString(rw, "success")
	}))
	t.Cleanup(w.receiver.Close)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.post(t, "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"`+sandbox.DefaultAppID+
		`","secret":"`+sandbox.DefaultAppSecret+`"}`), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("stable_token: %v", err)
	}
	w.token = tok.AccessToken
	return w
}

func (w *subWorld) post(t *testing.T, path, body string) []byte {
	t.Helper()
	resp, err := http.Post(w.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// sendAnswer is subscribe/send's answer, its msgid read exactly.
type sendAnswer struct {
	ErrCode int         `json:"errcode"`
	MsgID   json.Number `json:"msgid"`
}

func (w *subWorld) send(t *testing.T, openID, tmpl, data string) sendAnswer {
	t.Helper()
	b := w.post(t, "/cgi-bin/message/subscribe/send?access_token="+w.token,
		`{"touser":"`+openID+`","template_id":"`+tmpl+`","page":"pages/index","data":{"thing1":{"value":"`+data+`"}}}`)
	var a sendAnswer
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&a); err != nil {
		t.Fatalf("subscribe/send: %s", b)
	}
	return a
}

func (w *subWorld) tap(t *testing.T, body string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(w.post(t, "/sandbox/subscribe", body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *subWorld) pushed() []domain.PushEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]domain.PushEvent(nil), w.events...)
}

// A one-time template allows one message per accept; reject and ban take
// what is left; a long-term one allows any number until rejected. A send
// without an allowance is 43101 and spends nothing.
func TestSubscribe_TheSandboxEnforcesConsent(t *testing.T) {
	w := newSubWorld(t)
	alice, err := w.sb.User(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a := w.send(t, alice.OpenID, "tmplOnce", "a"); a.ErrCode != 43101 {
		t.Fatalf("without consent: %+v", a)
	}
	got := w.tap(t, `{"user":"alice","templates":{"tmplOnce":"accept","tmplOther":"reject"}}`)
	if got["errMsg"] != "requestSubscribeMessage:ok" || got["tmplOnce"] != "accept" || got["tmplOther"] != "reject" {
		t.Fatalf("the tap answered %v", got)
	}
	w.tap(t, `{"user":"alice","templates":{"tmplOnce":"accept"}}`)
	if n := w.sb.Allowed(alice.OpenID, "tmplOnce"); n != 2 {
		t.Fatalf("two accepts allow %d", n)
	}
	first := w.send(t, alice.OpenID, "tmplOnce", "a")
	if first.ErrCode != 0 || first.MsgID.String() != strconv.FormatInt(sandbox.FirstMsgID, 10) {
		t.Fatalf("first send: %+v", first)
	}
	if f, _ := first.MsgID.Float64(); strconv.FormatFloat(f, 'f', 0, 64) == first.MsgID.String() {
		t.Fatalf("msgid %s survives a float64: it tests nothing", first.MsgID)
	}
	if a := w.send(t, alice.OpenID, "tmplOnce", "b"); a.ErrCode != 0 || a.MsgID.String() == first.MsgID.String() {
		t.Fatalf("second send: %+v", a)
	}
	for _, tmpl := range []string{"tmplOnce", "tmplOther"} {
		if a := w.send(t, alice.OpenID, tmpl, "c"); a.ErrCode != 43101 {
			t.Fatalf("%s spent: %+v", tmpl, a)
		}
	}
	// Ban and reject take what was allowed.
	w.tap(t, `{"user":"alice","templates":{"tmplOnce":"accept"}}`)
	w.tap(t, `{"user":"alice","templates":{"tmplOnce":"ban"}}`)
	if a := w.send(t, alice.OpenID, "tmplOnce", "d"); a.ErrCode != 43101 {
		t.Fatalf("after ban: %+v", a)
	}
	// A long-term template, by openid (a user the sandbox need not know).
	w.tap(t, `{"openid":"oLongTerm","templates":{"tmplLong":"accept"},"longTerm":["tmplLong"]}`)
	for i := range 3 {
		if a := w.send(t, "oLongTerm", "tmplLong", strconv.Itoa(i)); a.ErrCode != 0 {
			t.Fatalf("long-term send %d: %+v", i, a)
		}
	}
	w.tap(t, `{"openid":"oLongTerm","templates":{"tmplLong":"reject"}}`)
	if a := w.send(t, "oLongTerm", "tmplLong", "x"); a.ErrCode != 43101 {
		t.Fatalf("long-term after reject: %+v", a)
	}
	if st := w.sb.SubscribeStats(); st != (sandbox.SubscribeStats{Sent: 5, Refused: 5}) {
		t.Fatalf("stats %+v", st)
	}
	// Bad taps are refused with the fail callback's shape.
	for _, body := range []string{`{"user":"alice","templates":{}}`, `{"user":"alice","templates":{"t":"maybe"}}`, `{"templates":{"t":"accept"}}`, `[`} {
		resp, err := http.Post(w.srv.URL+"/sandbox/subscribe", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", body, resp.StatusCode)
		}
	}
}

// The tap is pushed as subscribe_msg_popup_event when it names the push
// URL; each message sent is pushed as subscribe_msg_sent_event (ErrorCode
// 0, its exact MsgID) by POST /sandbox/subscribe/push, once, in XML or JSON.
func TestSubscribe_PopupAndSentEventsArePushed(t *testing.T) {
	for _, format := range []string{"xml", "json"} {
		t.Run(format, func(t *testing.T) {
			w := newSubWorld(t)
			alice, _ := w.sb.User(context.Background(), "alice")
			got := w.tap(t, `{"user":"alice","templates":{"tmplA":"accept","tmplB":"reject"},"url":"`+w.receiver.URL+`","format":"`+format+`"}`)
			if p, _ := got["push"].(map[string]any); p["answer"] != "success" {
				t.Fatalf("tap: %v", got)
			}
			ev := w.pushed()
			if len(ev) != 1 || ev[0].Kind != domain.PushSubscribePopup || ev[0].FromUser != alice.OpenID {
				t.Fatalf("popup pushed: %+v", ev)
			}
			if items := domain.SubscribeItems(ev[0]); len(items) != 2 || items[0] != (domain.SubscribeItem{TemplateID: "tmplA", Status: "accept"}) ||
				items[1] != (domain.SubscribeItem{TemplateID: "tmplB", Status: "reject"}) {
				t.Fatalf("popup items: %+v", items)
			}
			a := w.send(t, alice.OpenID, "tmplA", "hello")
			if a.ErrCode != 0 {
				t.Fatalf("send: %+v", a)
			}
			push := `{"url":"` + w.receiver.URL + `","format":"` + format + `"}`
			var res struct{ Pushed []sandbox.SubscribePushed }
			if err := json.Unmarshal(w.post(t, "/sandbox/subscribe/push", push), &res); err != nil || len(res.Pushed) != 1 ||
				strconv.FormatInt(res.Pushed[0].MsgID, 10) != a.MsgID.String() || res.Pushed[0].Answer != "success" {
				t.Fatalf("push: %+v %v", res, err)
			}
			ev = w.pushed()
			if len(ev) != 2 || ev[1].Kind != domain.PushSubscribeSent || ev[1].FromUser != alice.OpenID {
				t.Fatalf("sent pushed: %+v", ev)
			}
			if items := domain.SubscribeItems(ev[1]); len(items) != 1 ||
				items[0] != (domain.SubscribeItem{TemplateID: "tmplA", MsgID: a.MsgID.String(), ErrorCode: "0", ErrorStatus: "success"}) {
				t.Fatalf("sent items: %+v", items)
			}
			if err := json.Unmarshal(w.post(t, "/sandbox/subscribe/push", push), &res); err != nil || len(res.Pushed) != 0 || len(w.pushed()) != 2 {
				t.Fatalf("pushed again: %+v %v", res, err)
			}
		})
	}
}

// With the server's push URL known, each message sent is pushed as
// subscribe_msg_sent_event on its own, once, after its answer; POST
// /sandbox/subscribe/push then has nothing left to push.
func TestSubscribe_SentEventsArePushedOnTheirOwnToAKnownURL(t *testing.T) {
	w := newSubWorld(t)
	w.sb.SetPushURL(w.receiver.URL)
	w.sb.SetLongTerm("long")
	if err := w.sb.Subscribe("oUser", map[string]string{"tmpl": "accept", "long": "accept"}); err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, tmpl := range []string{"tmpl", "long"} {
		a := w.send(t, "oUser", tmpl, "hello")
		if a.ErrCode != 0 {
			t.Fatalf("send: %+v", a)
		}
		sent = append(sent, a.MsgID.String())
	}
	for range sent {
		select {
		case <-w.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("no sent event pushed; got %+v", w.pushed())
		}
	}
	var got []string
	for _, e := range w.pushed() {
		items := domain.SubscribeItems(e)
		if e.Kind != domain.PushSubscribeSent || e.FromUser != "oUser" || len(items) != 1 || items[0].ErrorCode != "0" {
			t.Fatalf("pushed %+v", e)
		}
		got = append(got, items[0].MsgID)
	}
	slices.Sort(got) // each pushed on its own: in any order
	if strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Fatalf("pushed msgids %v, sent %v", got, sent)
	}
	var res struct{ Pushed []sandbox.SubscribePushed }
	if err := json.Unmarshal(w.post(t, "/sandbox/subscribe/push", `{"url":"`+w.receiver.URL+`"}`), &res); err != nil || len(res.Pushed) != 0 {
		t.Fatalf("pushed again: %+v %v", res, err)
	}
	// Without the URL, nothing is pushed until asked.
	w.sb.SetPushURL("")
	if a := w.send(t, "oUser", "long", "again"); a.ErrCode != 0 {
		t.Fatalf("send: %+v", a)
	}
	if err := json.Unmarshal(w.post(t, "/sandbox/subscribe/push", `{"url":"`+w.receiver.URL+`"}`), &res); err != nil || len(res.Pushed) != 1 || len(w.pushed()) != 3 {
		t.Fatalf("asked: %+v %v, %d pushed", res, err, len(w.pushed()))
	}
}

// Faults still apply to subscribe/send: an injected errcode spends
// nothing; a lost answer sends the message (and a second send of the same
// message is a duplicate the sandbox counts).
func TestSubscribe_FaultsAndDuplicates(t *testing.T) {
	w := newSubWorld(t)
	if err := w.sb.Subscribe("oUser", map[string]string{"tmpl": "accept"}); err != nil {
		t.Fatal(err)
	}
	_ = w.sb.Subscribe("oUser", map[string]string{"tmpl": "accept"})
	w.sb.InjectAPIFault("cgi-bin/message/subscribe/send", sandbox.Fault{Errcode: -1})
	if a := w.send(t, "oUser", "tmpl", "x"); a.ErrCode != -1 || w.sb.Allowed("oUser", "tmpl") != 2 {
		t.Fatalf("busy: %+v, %d left", a, w.sb.Allowed("oUser", "tmpl"))
	}
	w.sb.InjectAPIFault("cgi-bin/message/subscribe/send", sandbox.Fault{Lost: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.srv.URL+"/cgi-bin/message/subscribe/send?access_token="+w.token,
		strings.NewReader(`{"touser":"oUser","template_id":"tmpl","page":"pages/index","data":{"thing1":{"value":"x"}}}`))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a lost answer arrived")
	}
	if st := w.sb.SubscribeStats(); st.Sent != 1 || st.Duplicates != 0 || w.sb.Allowed("oUser", "tmpl") != 1 {
		t.Fatalf("after the lost answer: %+v", st)
	}
	if a := w.send(t, "oUser", "tmpl", "x"); a.ErrCode != 0 {
		t.Fatalf("sent again: %+v", a)
	}
	if st := w.sb.SubscribeStats(); st.Sent != 2 || st.Duplicates != 1 {
		t.Fatalf("the same message twice: %+v", st)
	}
	if m := w.sb.SentMessages(); len(m) != 2 || m[0].Duplicate || !m[1].Duplicate || m[1].MsgID != sandbox.FirstMsgID+2 {
		t.Fatalf("sent %+v", m)
	}
}
