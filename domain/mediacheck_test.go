package domain_test

import (
	"errors"
	"testing"
	"time"

	"wxbackend/domain"
)

func mediaEvent(t *testing.T, body string, f domain.PushFormat) domain.PushEvent {
	t.Helper()
	b, err := domain.ReadPushBody([]byte(body), f)
	if err != nil {
		t.Fatal(err)
	}
	e, err := domain.ParsePush("wxapp", b.Fields, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestParseMediaCheck_Shapes(t *testing.T) {
	const head = `"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1700000000,"MsgType":"event","Event":"wxa_media_check","appid":"wxapp","trace_id":"t-1"`
	cases := []struct {
		name, body string
		f          domain.PushFormat
		want       domain.Verdict
		label      string
	}{
		{"v2 pass, label a number", `{` + head + `,"version":2,"result":{"suggest":"pass","label":100}}`, domain.PushJSON, domain.VerdictPass, "100"},
		{"v2 risky, label a string", `{` + head + `,"version":2,"result":{"suggest":"risky","label":"20002"}}`, domain.PushJSON, domain.VerdictRisky, "20002"},
		{"v2 review", `{` + head + `,"version":2,"result":{"suggest":"review","label":20006}}`, domain.PushJSON, domain.VerdictReview, "20006"},
		{"v1 risky", `{` + head + `,"isrisky":1,"extra_info_json":"","status_code":0}`, domain.PushJSON, domain.VerdictRisky, ""},
		{"v1 pass as a string", `{` + head + `,"isrisky":"0","status_code":0}`, domain.PushJSON, domain.VerdictPass, ""},
		{"v2 in XML", `<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName><CreateTime>1700000000</CreateTime><MsgType>event</MsgType><Event>wxa_media_check</Event><trace_id>t-1</trace_id><version>2</version><result><suggest>risky</suggest><label>20001</label></result></xml>`, domain.PushXML, domain.VerdictRisky, "20001"},
	}
	for _, c := range cases {
		got, err := domain.ParseMediaCheck(mediaEvent(t, c.body, c.f))
		if err != nil || got.TraceID != "t-1" || got.Verdict != c.want || got.Label != c.label {
			t.Errorf("%s: %+v, %v; want %s label %q", c.name, got, err, c.want, c.label)
		}
	}
}

func TestParseMediaCheck_RefusesWhatItCannotRead(t *testing.T) {
	for name, body := range map[string]string{
		"another event":   `{"FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"subscribe_msg_popup_event","trace_id":"t"}`,
		"no trace_id":     `{"FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"wxa_media_check","result":{"suggest":"pass"}}`,
		"unknown suggest": `{"FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"wxa_media_check","trace_id":"t","result":{"suggest":"maybe"}}`,
		"no verdict":      `{"FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"wxa_media_check","trace_id":"t"}`,
	} {
		_, err := domain.ParseMediaCheck(mediaEvent(t, body, domain.PushJSON))
		var de *domain.Error
		if !errors.As(err, &de) || de.Kind != domain.KindInvalidInput {
			t.Errorf("%s: %v, want KindInvalidInput", name, err)
		}
	}
}
