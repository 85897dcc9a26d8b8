package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"wxbackend/domain"
)

// WeChat's message push (消息推送), played as WeChat plays it: a push is
// signed with the app's Token and, in compatible and safe mode, encrypted
// with its EncodingAESKey (domain.EncryptPush), then POSTed to the server's
// URL with signature, timestamp, nonce (and encrypt_type, msg_signature).

// PushApp is an app's push settings as WeChat's console holds them.
type PushApp struct {
	AppID          string
	Token          string
	EncodingAESKey string // "" for plain mode only
	// URL is the server's push URL (the console's 服务器地址,
	// /wechat/push/{appid}): set, the sandbox pushes each message sent's
	// subscribe_msg_sent_event there on its own, as WeChat does (see
	// SentEventDelay; Sandbox.SetPushURL sets it later). "": only POST
	// /sandbox/subscribe/push pushes them.
	URL string
}

// PushMode is the console's message encryption mode.
type PushMode string

// The modes of WeChat's console.
const (
	PushPlain      PushMode = "plain"      // 明文模式: the body as it is, signature over timestamp and nonce
	PushCompatible PushMode = "compatible" // 兼容模式: the plain fields and Encrypt
	PushSafe       PushMode = "safe"       // 安全模式: Encrypt only
)

// Push is one push, ready to send.
type Push struct {
	Query       url.Values
	Body        []byte
	ContentType string
}

// NewPush signs (and encrypts) msg, an event as WeChat writes it in format
// f (XML or JSON text), for a at time at.
func NewPush(a PushApp, mode PushMode, f domain.PushFormat, msg []byte, at time.Time) (Push, error) {
	nonce, err := randomHex(5)
	if err != nil {
		return Push{}, err
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {domain.PushSignature(a.Token, ts, nonce)}}
	ct := "text/xml"
	if f == domain.PushJSON {
		ct = "application/json"
	}
	if mode == PushPlain {
		return Push{Query: q, Body: msg, ContentType: ct}, nil
	}
	k, err := domain.ParsePushKey(a.EncodingAESKey)
	if err != nil {
		return Push{}, fmt.Errorf("sandbox: app %s: %w", a.AppID, err)
	}
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return Push{}, err
	}
	enc := domain.EncryptPush(k, random, msg, a.AppID)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", domain.PushSignature(a.Token, ts, nonce, enc))
	body, err := envelope(mode, f, msg, enc)
	if err != nil {
		return Push{}, err
	}
	return Push{Query: q, Body: body, ContentType: ct}, nil
}

// envelope is the body of an encrypted push: ToUserName and Encrypt in
// safe mode, every plain field and Encrypt in compatible mode.
func envelope(mode PushMode, f domain.PushFormat, msg []byte, enc string) ([]byte, error) {
	if f == domain.PushJSON {
		fields := map[string]any{}
		if err := json.Unmarshal(msg, &fields); err != nil {
			return nil, fmt.Errorf("sandbox: the event is not a JSON object: %w", err)
		}
		out := map[string]any{"ToUserName": fields["ToUserName"], "Encrypt": enc}
		if mode == PushCompatible {
			fields["Encrypt"] = enc
			out = fields
		}
		return json.Marshal(out)
	}
	s := string(msg)
	end := strings.LastIndex(s, "</xml>")
	if end < 0 {
		return nil, errors.New("sandbox: the event is not <xml>…</xml>")
	}
	encElem := "<Encrypt><![CDATA[" + enc + "]]></Encrypt>"
	if mode == PushCompatible {
		return []byte(s[:end] + encElem + "</xml>"), nil
	}
	to := ""
	if i, j := strings.Index(s, "<ToUserName>"), strings.Index(s, "</ToUserName>"); i >= 0 && j > i {
		to = s[i : j+len("</ToUserName>")]
	}
	return []byte("<xml>" + to + encElem + "</xml>"), nil
}

// VerifyQuery is the query of WeChat's check of a push URL (GET), and the
// echostr the server must answer.
func VerifyQuery(a PushApp, at time.Time) (url.Values, string, error) {
	nonce, err := randomHex(5)
	if err != nil {
		return nil, "", err
	}
	echo, err := randomHex(8)
	if err != nil {
		return nil, "", err
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	return url.Values{"timestamp": {ts}, "nonce": {nonce}, "echostr": {echo},
		"signature": {domain.PushSignature(a.Token, ts, nonce)}}, echo, nil
}

// Send POSTs p to pushURL (the server's /wechat/push/{appid}) and returns
// the status and the answer's text, as WeChat reads it.
func (p Push) Send(ctx context.Context, c *http.Client, pushURL string) (int, string, error) {
	u := pushURL + "?" + p.Query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(p.Body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", p.ContentType)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), err
}

// EventJSON writes fields as an event in JSON, as WeChat does.
func EventJSON(fields map[string]any) []byte {
	b, _ := json.Marshal(fields)
	return b
}

// EventXML writes fields as an event in XML, as WeChat does: strings in
// CDATA, numbers bare; a []map[string]any is a repeated element (a List
// of several items), a map[string]any a nested one.
func EventXML(fields map[string]any) []byte {
	var b strings.Builder
	b.WriteString("<xml>")
	writeXMLFields(&b, fields)
	b.WriteString("</xml>")
	return []byte(b.String())
}

func writeXMLFields(b *strings.Builder, fields map[string]any) {
	for _, k := range sortedKeys(fields) {
		switch v := fields[k].(type) {
		case []map[string]any:
			for _, item := range v {
				b.WriteString("<" + k + ">")
				writeXMLFields(b, item)
				b.WriteString("</" + k + ">")
			}
		case map[string]any:
			b.WriteString("<" + k + ">")
			writeXMLFields(b, v)
			b.WriteString("</" + k + ">")
		case string:
			b.WriteString("<" + k + "><![CDATA[" + v + "]]></" + k + ">")
		case float64:
			fmt.Fprintf(b, "<%s>%s</%s>", k, strconv.FormatFloat(v, 'f', -1, 64), k)
		default:
			fmt.Fprintf(b, "<%s>%v</%s>", k, v, k)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// pushState is what the sandbox keeps for the message push: the app's push
// settings, and the deliveries its webhook received.
type pushState struct {
	app           PushApp
	webhookSecret string
	received      []json.RawMessage // guarded by Sandbox.mu
	badSignatures int
}

// PushRequest asks the sandbox to push an event, as WeChat would, to URL.
type PushRequest struct {
	AppID  string         `json:"appid,omitempty"`
	URL    string         `json:"url"`              // the backend's /wechat/push/{appid}
	Mode   PushMode       `json:"mode,omitempty"`   // default safe (plain when the app has no key)
	Format string         `json:"format,omitempty"` // xml (default) or json
	Event  map[string]any `json:"event"`
}

// PushResult is what the backend answered.
type PushResult struct {
	Status int    `json:"status"`
	Answer string `json:"answer"`
}

func (s *Sandbox) pushRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sandbox/push", s.servePush)
	mux.HandleFunc("POST /sandbox/webhook", s.serveWebhook)
	mux.HandleFunc("GET /sandbox/webhook", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		got := append([]json.RawMessage{}, s.push.received...)
		bad := s.push.badSignatures
		s.mu.Unlock()
		writeClient(w, map[string]any{"deliveries": got, "badSignatures": bad}, nil)
	})
}

// servePush is POST /sandbox/push: the event of the body, signed (and
// encrypted) with the app's push settings, POSTed to the URL given.
func (s *Sandbox) servePush(w http.ResponseWriter, r *http.Request) {
	var req PushRequest
	d := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	d.UseNumber() // numbers written as sent, not as floats
	if err := d.Decode(&req); err != nil || req.URL == "" || req.Event == nil {
		http.Error(w, "want {url, event, mode, format}", http.StatusBadRequest)
		return
	}
	if s.push.app.Token == "" {
		http.Error(w, "the sandbox's app has no push token (wxsandbox -push-token)", http.StatusConflict)
		return
	}
	mode := req.Mode
	if mode == "" {
		mode = PushSafe
		if s.push.app.EncodingAESKey == "" {
			mode = PushPlain
		}
	}
	f, msg := domain.PushXML, EventXML(req.Event)
	if req.Format == "json" {
		f, msg = domain.PushJSON, EventJSON(req.Event)
	}
	p, err := NewPush(s.push.app, mode, f, msg, s.now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status, answer, err := p.Send(r.Context(), http.DefaultClient, req.URL)
	if err != nil {
		http.Error(w, "push: "+err.Error(), http.StatusBadGateway)
		return
	}
	writeClient(w, PushResult{Status: status, Answer: answer}, nil)
}

// serveWebhook is POST /sandbox/webhook: a team's service receiving the
// backend's deliveries, checking their signature.
func (s *Sandbox) serveWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := hmac.New(sha256.New, []byte(s.push.webhookSecret))
	m.Write([]byte(r.Header.Get("X-WXB-Timestamp") + "." + string(body)))
	ok := s.push.webhookSecret != "" && hmac.Equal([]byte("sha256="+hex.EncodeToString(m.Sum(nil))), []byte(r.Header.Get("X-WXB-Signature")))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		s.push.badSignatures++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	s.push.received = append(s.push.received, json.RawMessage(body))
	w.WriteHeader(http.StatusNoContent)
}
