package domain_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"wxbackend/domain"
)

type pushVectors struct {
	Encrypt []struct {
		Source, EncodingAesKey, Token, AppID, Random, Msg, Encrypted string
	}
	Decrypt []struct {
		Source, EncodingAesKey, Token, AppID, Timestamp, Nonce, MsgSignature, Body string
	}
}

func loadPushVectors(t *testing.T) pushVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/push_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v pushVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Encrypt) == 0 || len(v.Decrypt) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

// TestPushCrypto_OfficialEncryptExamples: sealing the official examples'
// messages with their fixed random bytes gives their ciphertext, and opening
// it gives the message and the appid back.
func TestPushCrypto_OfficialEncryptExamples(t *testing.T) {
	for _, c := range loadPushVectors(t).Encrypt {
		k, err := domain.ParsePushKey(c.EncodingAesKey)
		if err != nil {
			t.Fatal(err)
		}
		var random [16]byte
		copy(random[:], c.Random)
		if got := domain.EncryptPush(k, random, []byte(c.Msg), c.AppID); got != c.Encrypted {
			t.Errorf("%s: encrypted\n%s\nwant\n%s", c.Source, got, c.Encrypted)
		}
		msg, appID, err := domain.DecryptPush(k, c.Encrypted)
		if err != nil || string(msg) != c.Msg || appID != c.AppID {
			t.Errorf("%s: decrypted %q for %q (%v)", c.Source, msg, appID, err)
		}
	}
}

// TestPushCrypto_OfficialDecryptExample: the sample's msg_signature covers
// token, timestamp, nonce and Encrypt, and its Encrypt opens to a message
// for its appid.
func TestPushCrypto_OfficialDecryptExample(t *testing.T) {
	for _, c := range loadPushVectors(t).Decrypt {
		body, err := domain.ReadPushBody([]byte(c.Body), domain.PushXML)
		if err != nil {
			t.Fatal(err)
		}
		if !domain.PushSignatureValid(c.MsgSignature, c.Token, c.Timestamp, c.Nonce, body.Encrypt) {
			t.Errorf("%s: msg_signature does not verify", c.Source)
		}
		if domain.PushSignatureValid(c.MsgSignature, c.Token, c.Timestamp, c.Nonce) {
			t.Errorf("%s: msg_signature verifies without Encrypt", c.Source)
		}
		k, _ := domain.ParsePushKey(c.EncodingAesKey)
		msg, appID, err := domain.DecryptPush(k, body.Encrypt)
		if err != nil || appID != c.AppID {
			t.Fatalf("%s: decrypted for %q (%v)", c.Source, appID, err)
		}
		inner, err := domain.ReadPushBody(msg, domain.PushXML)
		if err != nil {
			t.Fatal(err)
		}
		e, err := domain.ParsePush(c.AppID, inner.Fields, time.Unix(1409735669, 0))
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != "text" || e.FromUser == "" || e.CreateTime == 0 || !strings.HasPrefix(e.DedupKey, "msgid:") {
			t.Errorf("%s: parsed %+v", c.Source, e)
		}
	}
}

func TestPushKey_RejectsWrongLengthAndAlphabet(t *testing.T) {
	for _, s := range []string{"", "abc", strings.Repeat("a", 42), strings.Repeat("a", 44), strings.Repeat("!", 43)} {
		if _, err := domain.ParsePushKey(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestDecryptPush_RejectsBadInput: every way a ciphertext can be wrong is
// undecryptable, never a panic, and a length past the end is caught.
func TestDecryptPush_RejectsBadInput(t *testing.T) {
	k, _ := domain.ParsePushKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	other, _ := domain.ParsePushKey("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg")
	good := domain.EncryptPush(k, [16]byte{}, []byte("<xml/>"), "wxapp")
	for name, s := range map[string]string{
		"empty":       "",
		"not base64":  "!!!!",
		"not blocks":  "AAAA",
		"other key":   good,
		"one block":   domain.EncryptPush(k, [16]byte{}, nil, "")[:24],
		"long length": sealRaw(k, padded(append(make([]byte, 16), 0xff, 0xff, 0xff, 0xff, 'x'))),
		"bad padding": sealRaw(k, make([]byte, 32)),
	} {
		key := k
		if name == "other key" {
			key = other
		}
		if _, _, err := domain.DecryptPush(key, s); domain.KindOf(err) != domain.KindUndecryptable {
			t.Errorf("%s: %v, want undecryptable", name, err)
		}
	}
}

// sealRaw encrypts plain (whole blocks) as it is, without WeChat's framing.
func sealRaw(k domain.PushKey, plain []byte) string { return domain.SealPushForTest(k, plain) }

// padded pads b by PKCS#7 to 32-byte blocks.
func padded(b []byte) []byte {
	n := 32 - len(b)%32
	for range n {
		b = append(b, byte(n))
	}
	return b
}

func TestParsePush_ListObjectOrArrayAndNumbersAsStrings(t *testing.T) {
	one := `{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":"1700000000","MsgType":"event","Event":"subscribe_msg_popup_event",
		"List":{"TemplateId":"t1","SubscribeStatusString":"accept","PopupScene":"0"}}`
	two := `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>
		<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>
		<List><TemplateId><![CDATA[t1]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString></List>
		<List><TemplateId><![CDATA[t2]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List></xml>`
	for _, c := range []struct {
		body  string
		f     domain.PushFormat
		items int
	}{{one, domain.PushJSON, 1}, {two, domain.PushXML, 2}} {
		b, err := domain.ReadPushBody([]byte(c.body), c.f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := domain.ParsePush("wxapp", b.Fields, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ List []map[string]any }
		if err := json.Unmarshal(e.Payload, &p); err != nil || len(p.List) != c.items {
			t.Errorf("List of %d items, want %d (%v): %s", len(p.List), c.items, err, e.Payload)
		}
		if e.Kind != "subscribe_msg_popup_event" || e.CreateTime != 1700000000 || e.FromUser != "oUser" || !strings.HasPrefix(e.DedupKey, "sha256:") {
			t.Errorf("parsed %+v", e)
		}
	}
}

func TestParsePush_MediaCheckIsKeyedByTraceID(t *testing.T) {
	body := `{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1700000000,"MsgType":"event","Event":"wxa_media_check",
		"appid":"wxapp","trace_id":"967e945cd8a3e458f3c74dcb886068e9","version":2,"result":{"suggest":"risky","label":"20001"},
		"detail":[{"strategy":"content_model","errcode":0,"suggest":"risky","label":20006,"prob":90}]}`
	b, _ := domain.ReadPushBody([]byte(body), domain.PushJSON)
	e, err := domain.ParsePush("wxapp", b.Fields, time.Now())
	if err != nil || e.DedupKey != "trace:967e945cd8a3e458f3c74dcb886068e9" {
		t.Fatalf("%+v %v", e, err)
	}
	if l, ok := domain.PushText(e.Payload, "trace_id"); !ok || l != "967e945cd8a3e458f3c74dcb886068e9" {
		t.Errorf("trace_id read as %q", l)
	}
}

func TestParsePush_SameEventSameKey_DifferentEventDifferentKey(t *testing.T) {
	key := func(s string) string {
		b, err := domain.ReadPushBody([]byte(s), domain.PushJSON)
		if err != nil {
			t.Fatal(err)
		}
		e, err := domain.ParsePush("wxapp", b.Fields, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return e.DedupKey
	}
	a := key(`{"FromUserName":"o1","CreateTime":1,"MsgType":"event","Event":"x","k":"v"}`)
	if a != key(`{"k":"v","Event":"x","MsgType":"event","CreateTime":1,"FromUserName":"o1"}`) {
		t.Error("the same event in another field order has another key")
	}
	if a == key(`{"FromUserName":"o1","CreateTime":1,"MsgType":"event","Event":"x","k":"w"}`) {
		t.Error("events differing in a field share a key")
	}
	if key(`{"MsgId":12345678901234567890,"MsgType":"text"}`) != "msgid:12345678901234567890" {
		t.Error("a 64-bit MsgId is not kept exact")
	}
}

func TestReadPushBody_RejectsMalformed(t *testing.T) {
	for _, c := range []struct {
		body string
		f    domain.PushFormat
	}{
		{"", domain.PushXML}, {"<xml>", domain.PushXML}, {"<xml></xml><xml></xml>", domain.PushXML},
		{`<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>`, domain.PushXML},
		{strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100), domain.PushXML},
		{"", domain.PushJSON}, {"[]", domain.PushJSON}, {"null", domain.PushJSON}, {"{} {}", domain.PushJSON},
		{strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), domain.PushJSON},
	} {
		if _, err := domain.ReadPushBody([]byte(c.body), c.f); domain.KindOf(err) != domain.KindInvalidInput {
			t.Errorf("%.40q: %v, want invalid input", c.body, err)
		}
	}
}
