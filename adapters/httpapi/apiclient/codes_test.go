package apiclient_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
)

// Every code the served OpenAPI documents list for an error is explained.
func TestExplain_EveryCodeOfTheContract(t *testing.T) {
	for _, file := range []string{"../openapi.json", "../openapi-internal.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Components struct {
				Schemas struct {
					Error struct {
						Properties struct {
							Code struct {
								Enum []int `json:"enum"`
							} `json:"code"`
						} `json:"properties"`
					} `json:"Error"`
				} `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		codes := doc.Components.Schemas.Error.Properties.Code.Enum
		if len(codes) < 13 {
			t.Fatalf("%s: error codes %v", file, codes)
		}
		for _, code := range codes {
			if c := apiclient.Explain(code); c.Name == "unknown" || c.Meaning == "" {
				t.Errorf("%s: code %d is not explained", file, code)
			}
		}
	}
	if c := apiclient.Explain(99); c.Name != "unknown" {
		t.Errorf("code 99: %+v", c)
	}
}

func TestDescribe_NamesTheCodeBesideTheContractsMsg(t *testing.T) {
	e := apiclient.Raw{Code: 2, Status: 2, Msg: "无效的token"}
	if got := e.Describe(); got != "code 2 unauthenticated: 无效的token (the token is missing, malformed, unknown, expired or revoked: wx.login again)" {
		t.Errorf("got %q", got)
	}
	e = apiclient.Raw{Code: 1, Status: 1, Msg: "缺少参数!", Detail: "name one with an X-WX-AppID header"}
	if got := e.Describe(); !strings.HasPrefix(got, "code 1 invalid_input: 缺少参数! (a parameter is missing") || !strings.HasSuffix(got, "; name one with an X-WX-AppID header") {
		t.Errorf("got %q", got)
	}
}
