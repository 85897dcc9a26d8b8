package wiring_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/openapitest"
	"wxbackend/cmd/wxbackend/config"
)

// contract checks every response of wxbackend that the tests of this
// package receive against the OpenAPI document: TestMain puts it in
// http.DefaultTransport, and clients with a transport of their own wrap it.
var contract = &openapitest.Transport{Only: wxbackendRoute}

// wxbackendRoute tells wxbackend's requests from those to WeChat's stand-in,
// the metrics listener and pprof.
func wxbackendRoute(r *http.Request) bool {
	for _, p := range []string{"/sns/", "/cgi-bin/", "/wxa/", "/sandbox/", "/metrics", "/debug/"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return false
		}
	}
	return true
}

func TestMain(m *testing.M) {
	contract.Base = http.DefaultTransport
	http.DefaultTransport = contract
	code := m.Run()
	if failures, checked := contract.Failures(); len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d responses are not what docs/openapi.json says:\n  %s\n", len(failures), checked, strings.Join(failures, "\n  "))
		code = 1
	}
	os.Exit(code)
}

// TestE2E_ResponsesAreCheckedAgainstTheOpenAPIDocument: the check is on,
// and sees the server's answers, errors included.
func TestE2E_ResponsesAreCheckedAgainstTheOpenAPIDocument(t *testing.T) {
	_, before := contract.Failures()
	s := startServer(t, func(c *config.Config) { c.DB = sqliteDB(t) })
	tok := s.login(t, "openapi-user")
	s.post(t, "/api/v1/userinfo", map[string]string{"encryptedData": "AAAA", "iv": "AAAA"}, "Authorization", "Bearer "+tok)
	s.post(t, "/api/v1/me/profile", map[string]string{"nickName": "OpenAPI ✅", "gender": "2"}, "Authorization", "Bearer "+tok)
	if _, after := contract.Failures(); after < before+3 {
		t.Fatalf("%d responses checked, want at least 3 more than %d", after, before)
	}
}
