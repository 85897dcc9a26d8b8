package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"

	"wxbackend/domain"
	"wxbackend/ports"
)

// maxErrcodeJSON bounds the answers read for an errcode: WeChat's JSON
// answers are small; an image is never parsed.
const maxErrcodeJSON = 64 << 10

// hopByHop are the headers of one connection (RFC 9110, 7.6.1), never
// passed on; Set-Cookie is WeChat's business with its own clients.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Proxy-Connection": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Set-Cookie": true, "Content-Length": true,
}

// lostAnswer adds ports.ErrAnswerLost to err when the request was written.
func lostAnswer(err error, written bool) error {
	if !written {
		return err
	}
	return fmt.Errorf("%w (%w)", err, ports.ErrAnswerLost)
}

// Forward implements ports.WeChat: req goes to the configured base URL,
// with the access token set in its query (any access_token already there
// removed), and its answer comes back whole, up to MaxAnswer bytes.
func (c *Client) Forward(ctx context.Context, token domain.AccessToken, req ports.APIRequest) (ports.APIResponse, error) {
	api := req.Path
	q := domain.WithoutAccessToken(req.RawQuery)
	if q != "" {
		q += "&"
	}
	u := c.base + "/" + req.Path + "?" + q + "access_token=" + url.QueryEscape(token.Reveal())
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u, body)
	if err != nil {
		return ports.APIResponse{}, domain.Wrap(domain.KindInternal, fmt.Errorf("%s: %w", api, redact(err)))
	}
	if req.ContentType != "" {
		hreq.Header.Set("Content-Type", req.ContentType)
	}
	if req.Accept != "" {
		hreq.Header.Set("Accept", req.Accept)
	}
	// Whether the request was written whole: a failure after it may have
	// been acted on (ports.ErrAnswerLost).
	var wrote atomic.Bool
	hreq = hreq.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	}))
	resp, err := c.forward.Do(hreq)
	if err != nil {
		return ports.APIResponse{}, lostAnswer(transportError(api, err), wrote.Load())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	if err != nil {
		return ports.APIResponse{}, lostAnswer(transportError(api, err), true)
	}
	if int64(len(raw)) > c.maxAnswer {
		return ports.APIResponse{}, domain.Wrap(domain.KindUpstream, fmt.Errorf("%s: answer over %d bytes", api, c.maxAnswer))
	}
	out := ports.APIResponse{Status: resp.StatusCode, Header: passedOn(resp.Header), Body: raw}
	withoutToken(&out, token.Reveal())
	if !looksJSON(resp.Header.Get("Content-Type"), out.Body) {
		return out, nil
	}
	var r apiReply
	if json.Unmarshal(out.Body, &r) != nil {
		return out, nil
	}
	out.JSON, out.Errcode = true, r.ErrCode
	switch r.ErrCode {
	case 40001, 40014, 42001:
		return out, apiErrcode(api, r.ErrCode, r.ErrMsg)
	}
	return out, nil
}

// looksJSON reports whether an answer is small JSON, by its content type
// or its first byte (WeChat labels some JSON text/plain).
func looksJSON(contentType string, body []byte) bool {
	if len(body) > maxErrcodeJSON {
		return false
	}
	return strings.Contains(strings.ToLower(contentType), "json") || bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
}

// passedOn is h without the hop-by-hop headers (those Connection names
// too) and Set-Cookie.
func passedOn(h http.Header) map[string][]string {
	drop := map[string]bool{}
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			drop[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	out := make(map[string][]string, len(h))
	for k, v := range h {
		if !hopByHop[k] && !drop[k] {
			out[k] = v
		}
	}
	return out
}

// redactedToken stands in an answer for the app's access token.
const redactedToken = "REDACTED"

// withoutToken replaces the app's token (as sent, and query-escaped) in an
// answer's headers and body: an answer that echoes its request (a
// redirect to the same URL, an errmsg quoting the query, a proxy's error
// page) must not hand the token to the caller, who is to call WeChat
// through wxbackend only. An answer without it, nearly every one, is
// passed as it came, byte for byte.
func withoutToken(r *ports.APIResponse, token string) {
	if token == "" {
		return
	}
	forms := []string{token}
	if esc := url.QueryEscape(token); esc != token {
		forms = append(forms, esc)
	}
	for _, f := range forms {
		if bytes.Contains(r.Body, []byte(f)) {
			r.Body = bytes.ReplaceAll(r.Body, []byte(f), []byte(redactedToken))
		}
		for k, vs := range r.Header {
			for i, v := range vs {
				if strings.Contains(v, f) {
					vs[i] = strings.ReplaceAll(v, f, redactedToken)
				}
			}
			r.Header[k] = vs
		}
	}
}
