package domain_test

import (
	"reflect"
	"testing"
	"time"

	"wxbackend/domain"
)

func TestSubscribeItems_EveryShapeWeChatPushes(t *testing.T) {
	xmlPopup := `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>
		<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>
		<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[t1]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List>
		<List><TemplateId><![CDATA[t2]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent></xml>`
	jsonChange := `{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1700000000,"MsgType":"event","Event":"subscribe_msg_change_event",
		"List":{"TemplateId":"t1","SubscribeStatusString":"reject"}}`
	jsonSent := `{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1700000000,"MsgType":"event","Event":"subscribe_msg_sent_event",
		"List":[{"TemplateId":"t1","MsgID":9223372036854775807,"ErrorCode":0,"ErrorStatus":"success"},{"TemplateId":"t2","MsgID":"1700000000000000001","ErrorCode":"20004","ErrorStatus":"fail"}]}`
	for _, c := range []struct {
		body string
		f    domain.PushFormat
		want []domain.SubscribeItem
	}{
		{xmlPopup, domain.PushXML, []domain.SubscribeItem{{TemplateID: "t1", Status: "accept"}, {TemplateID: "t2", Status: "reject"}}},
		{jsonChange, domain.PushJSON, []domain.SubscribeItem{{TemplateID: "t1", Status: "reject"}}},
		{jsonSent, domain.PushJSON, []domain.SubscribeItem{{TemplateID: "t1", MsgID: "9223372036854775807", ErrorCode: "0", ErrorStatus: "success"},
			{TemplateID: "t2", MsgID: "1700000000000000001", ErrorCode: "20004", ErrorStatus: "fail"}}},
	} {
		b, err := domain.ReadPushBody([]byte(c.body), c.f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := domain.ParsePush("wxapp", b.Fields, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := domain.SubscribeItems(e); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", e.Kind, got, c.want)
		}
	}
	if got := domain.SubscribeItems(domain.PushEvent{Kind: "text", Payload: []byte(`{"List":[{"TemplateId":"t"}]}`)}); got != nil {
		t.Errorf("a text message has subscribe items: %+v", got)
	}
	if got := domain.SubscribeItems(domain.PushEvent{Kind: domain.PushSubscribePopup, Payload: []byte(`{"List":"junk"}`)}); got != nil {
		t.Errorf("junk List: %+v", got)
	}
}
