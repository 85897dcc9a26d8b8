package echo_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxbackend/internal/sim/echo"
)

func TestEcho_AnswersTheIdentityHeadersApart(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("POST", srv.URL+"/orders?id=7", strings.NewReader("12345"))
	req.Header.Set("X-WX-OPENID", "o-1")
	req.Header.Set("X-Original-Forwarded-For", "1.2.3.4")
	req.Header.Set("X-Other", "x")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a echo.Answer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	if a.Service != echo.Name || a.Method != "POST" || a.Path != "/orders" || a.Query != "id=7" || a.BodyBytes != 5 ||
		a.Identity["X-Wx-Openid"] != "o-1" || a.Identity["X-Original-Forwarded-For"] != "1.2.3.4" || len(a.Identity) != 2 ||
		a.Headers["X-Other"] != "x" {
		t.Fatalf("%+v", a)
	}
}
