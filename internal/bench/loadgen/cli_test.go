package loadgen

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
)

// A login refused by the server's rate limit is told apart, so loadgen can
// name the settings to change; other failures are not.
func TestRateLimited_NamesTheSettings(t *testing.T) {
	limited := fmt.Errorf("login of u1: %w", &apiclient.Error{Code: 7, HTTPStatus: http.StatusTooManyRequests, Msg: "请求过于频繁"})
	if !rateLimited(limited) {
		t.Fatal("a code 7 answer was not taken for the rate limit")
	}
	if rateLimited(fmt.Errorf("login of u1: %w", &apiclient.Error{Code: 3, HTTPStatus: http.StatusBadRequest})) {
		t.Fatal("a bad code was taken for the rate limit")
	}
	for _, setting := range []string{"WXB_RATE_LOGIN_PER_MINUTE=0", "WXB_RATE_SESSION_PER_MINUTE=0", "WXB_RATE_WECHAT_LOGINS_PER_SECOND=0"} {
		if !strings.Contains(rateLimitHint, setting) {
			t.Fatalf("the hint does not name %s", setting)
		}
	}
}
