package httpapi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"wxbackend/app"
	"wxbackend/domain"
)

// WeChat's message push, /wechat/push/{appid} (see app.ReceivePush). WeChat
// reads plain text, not the contract's envelope: "success" for an event that
// is stored (or was already), anything else and it retries. A refusal is a
// 4xx with its reason as text; an event that could not be stored in time is
// a 503, so WeChat retries it.

// maxPushBody bounds a push's body: WeChat's events are a few KiB.
const maxPushBody = 256 << 10

// pushStatus is the status of each refusal.
var pushStatus = map[string]int{
	app.PushRefusedApp:           http.StatusNotFound,
	app.PushRefusedSignature:     http.StatusForbidden,
	app.PushRefusedStale:         http.StatusForbidden,
	app.PushRefusedPlain:         http.StatusForbidden,
	app.PushRefusedAppID:         http.StatusForbidden,
	app.PushRefusedUndecryptable: http.StatusBadRequest,
	app.PushRefusedMalformed:     http.StatusBadRequest,
	app.PushRefusedUnavailable:   http.StatusServiceUnavailable,
}

// pushRoutes adds the push routes when the app receives pushes.
func (h *handler) pushRoutes(r chi.Router) {
	if h.app.ReceivePush == nil {
		return
	}
	r.Get("/wechat/push/{appid}", h.pushVerify)
	r.Post("/wechat/push/{appid}", h.pushReceive)
}

func pushQuery(r *http.Request) app.PushQuery {
	q := r.URL.Query()
	return app.PushQuery{Signature: q.Get("signature"), Timestamp: q.Get("timestamp"), Nonce: q.Get("nonce"),
		EchoStr: q.Get("echostr"), EncryptType: q.Get("encrypt_type"), MsgSignature: q.Get("msg_signature")}
}

// pushVerify answers WeChat's check of the URL: echostr as sent, when the
// signature holds.
func (h *handler) pushVerify(w http.ResponseWriter, r *http.Request) {
	q := pushQuery(r)
	if err := h.app.ReceivePush.Verify(chi.URLParam(r, "appid"), q); err != nil {
		h.pushRefused(w, r, err)
		return
	}
	writePlain(w, http.StatusOK, q.EchoStr)
}

// pushReceive stores a pushed event, then answers "success".
func (h *handler) pushReceive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writePlain(w, http.StatusRequestEntityTooLarge, "refused: too large")
		return
	case err != nil:
		writePlain(w, http.StatusBadRequest, "refused: body not read")
		return
	}
	if _, err := h.app.ReceivePush.Handle(r.Context(), chi.URLParam(r, "appid"), pushQuery(r), body, pushFormat(body)); err != nil {
		h.pushRefused(w, r, err)
		return
	}
	writePlain(w, http.StatusOK, "success")
}

// pushFormat tells WeChat's JSON from its XML by the first character, not
// the content type (WeChat's vary between text/xml, application/xml and
// none).
func pushFormat(body []byte) domain.PushFormat {
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '{' {
		return domain.PushJSON
	}
	return domain.PushXML
}

func (h *handler) pushRefused(w http.ResponseWriter, r *http.Request, err error) {
	var pr *app.PushRefused
	if !errors.As(err, &pr) {
		pr = &app.PushRefused{Reason: app.PushRefusedUnavailable, Err: err}
	}
	status, ok := pushStatus[pr.Reason]
	if !ok {
		status = http.StatusInternalServerError
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(r.Context(), level, "push refused", slog.String("request_id", requestID(r.Context())),
		slog.String("reason", pr.Reason), slog.String("error", errText(pr.Err)))
	writePlain(w, status, "refused: "+pr.Reason)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// writePlain answers text, as WeChat reads it.
func writePlain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}
