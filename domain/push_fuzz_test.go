package domain_test

import (
	"bytes"
	"testing"
	"time"

	"wxbackend/domain"
)

// FuzzPush: any Encrypt text opens or fails as undecryptable, never panics,
// and what opens re-seals to a text that opens to the same message and
// appid; any body parses or fails as invalid input, and what parses makes an
// event or fails as invalid input, with a bounded dedup key.
func FuzzPush(f *testing.F) {
	k, _ := domain.ParsePushKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	f.Add(domain.EncryptPush(k, [16]byte{1}, []byte(`{"MsgType":"event","Event":"x"}`), "wxapp"), []byte(`<xml><MsgId>1</MsgId></xml>`), false)
	f.Add("jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==", []byte(`{"List":{"a":"1"}}`), true)
	f.Add("", []byte(`<xml><List><a>1</a></List><List><a>2</a></List></xml>`), false)
	f.Add("AAAA", []byte(`{"MsgId":123456789012345678901234567890}`), true)
	f.Fuzz(func(t *testing.T, encrypted string, body []byte, isJSON bool) {
		msg, appID, err := domain.DecryptPush(k, encrypted)
		if err != nil {
			if domain.KindOf(err) != domain.KindUndecryptable {
				t.Fatalf("%q: %v, want undecryptable", encrypted, err)
			}
		} else {
			again, id2, err := domain.DecryptPush(k, domain.EncryptPush(k, [16]byte{}, msg, appID))
			if err != nil || !bytes.Equal(again, msg) || id2 != appID {
				t.Fatalf("re-sealed %q for %q does not open the same: %q %q %v", msg, appID, again, id2, err)
			}
		}
		f := domain.PushXML
		if isJSON {
			f = domain.PushJSON
		}
		fields, err := domain.ReadPushBody(body, f)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalidInput {
				t.Fatalf("%q: %v, want invalid input", body, err)
			}
			return
		}
		e, err := domain.ParsePush("wxapp", fields.Fields, time.Unix(0, 0))
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalidInput {
				t.Fatalf("%q: %v, want invalid input", body, err)
			}
			return
		}
		if e.DedupKey == "" || len(e.DedupKey) > domain.MaxPushKeyLen || e.Kind == "" {
			t.Fatalf("%q: event %+v", body, e)
		}
	})
}
