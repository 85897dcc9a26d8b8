package domain_test

import (
	"strings"
	"testing"

	"wxbackend/domain"
)

func TestKeywordType(t *testing.T) {
	for key, want := range map[string]string{"thing1": "thing", "character_string15": "character_string", "number01": "number",
		"phrase": "phrase", "Thing1": "", "thing1a": "", "1thing": "", "": "", "thing-1": "", strings.Repeat("a", 41) + "1": ""} {
		if got := domain.KeywordType(key); got != want {
			t.Errorf("%q: %q, want %q", key, got, want)
		}
	}
}

func TestValidateKeyword_WeChatsRules(t *testing.T) {
	for _, c := range []struct {
		key, value string
		ok         bool
	}{
		{"thing1", "您的订单已发货，请注意查收", true},
		{"thing1", strings.Repeat("好", 20), true},
		{"thing1", strings.Repeat("好", 21), false},
		{"thing1", "", false},
		{"thing1", "   ", false},
		{"number2", "339208499", true},
		{"number2", "3.14", true},
		{"number2", "3.", false},
		{"number2", "12a", false},
		{"number2", strings.Repeat("9", 33), false},
		{"letter3", "ABCdef", true},
		{"letter3", "abc1", false},
		{"letter3", strings.Repeat("a", 33), false},
		{"symbol4", "%", true},
		{"symbol4", "+-*/=", true},
		{"symbol4", "+-*/=%", false},
		{"symbol4", "a", false},
		{"character_string5", "SF1234567890-A#", true},
		{"character_string5", "订单123", false},
		{"character_string5", "has space", false},
		{"character_string5", strings.Repeat("x", 33), false},
		{"phrase6", "配送中", true},
		{"phrase6", "配送中了吗啊", false},
		{"phrase6", "OK", false},
		{"name7", "张三", true},
		{"name7", "欧阳娜娜Nana", true},
		{"name7", "张三李四王五赵六孙七", true},
		{"name7", "张三李四王五赵六孙七周", false},
		{"name7", "John Smith", true},
		{"name7", "Jean-Baptiste Grenouille", false},
		{"name7", "R2D2", false},
		{"amount8", "¥100.50", true},
		{"amount8", "100元", true},
		{"amount8", "$1234567890", true},
		{"amount8", "12345678901", false},
		{"amount8", "¥12.5元", true},
		{"amount8", "a100", false},
		{"amount8", "¥¥100", false},
		{"phone_number9", "+86-0766-66888866", true},
		{"phone_number9", "+86-0766-668888661", false},
		{"phone_number9", "call 110", false},
		{"car_number10", "粤A8Z888挂", true},
		{"car_number10", "粤A8Z888", true},
		{"car_number10", "粤A8中888", false},
		{"car_number10", "粤A8Z8888挂", false},
		{"time11", "15:01", true},
		{"time11", "2019年10月1日 15:01", true},
		{"time11", "2023-08-21 22:48:54", true},
		{"time11", "15:01~16:30", true},
		{"time11", "24:00", false},
		{"time11", "tomorrow", false},
		{"time11", "2019年10月1日", false},
		{"date12", "2019年10月1日", true},
		{"date12", "2019-10-01 15:01", true},
		{"date12", "2019-10-01~2019-10-07", true},
		{"date12", "15:01", false},
		{"date12", "1.10.2019", false},
		{"enum13", "whatever the template lists", true},
		{"site01", "TIT创意园", true},
		{"site01", strings.Repeat("x", 201), false},
	} {
		err := domain.ValidateKeyword(c.key, c.value)
		if (err == nil) != c.ok {
			t.Errorf("%s = %q: %v, want ok %v", c.key, c.value, err, c.ok)
			continue
		}
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalidInput || !strings.Contains(err.Error(), "data."+c.key) {
				t.Errorf("%s = %q: error %v does not name the keyword", c.key, c.value, err)
			}
		}
	}
}

func TestValidateMessageData(t *testing.T) {
	if err := domain.ValidateMessageData(map[string]string{"thing1": "到货了", "number2": "3", "time3": "15:01"}); err != nil {
		t.Fatal(err)
	}
	for _, data := range []map[string]string{nil, {}, {"Thing1": "x"}, {"thing1": "ok", "number2": "x"}} {
		if domain.KindOf(domain.ValidateMessageData(data)) != domain.KindInvalidInput {
			t.Errorf("%v: valid", data)
		}
	}
	many := map[string]string{}
	for i := 0; i <= domain.MaxMessageKeywords; i++ {
		many["thing"+strings.Repeat("1", i+1)] = "x"
	}
	if domain.KindOf(domain.ValidateMessageData(many)) != domain.KindInvalidInput {
		t.Errorf("%d keywords: valid", len(many))
	}
}
