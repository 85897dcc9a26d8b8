package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/app"
	"wxbackend/domain"
)

// envelope is every response body (see apiclient.Envelope).
type envelope = apiclient.Envelope[any]

// writeOK answers code 0 with data.
func writeOK(w http.ResponseWriter, data any) {
	writeEnvelope(w, http.StatusOK, envelope{Code: 0, Status: 0, Msg: "ok", Data: data})
}

// readAuthed reads a body's known fields, and the request's session (see
// authOf).
func (h *handler) readAuthed(r *http.Request, known ...string) (fields, app.Authenticated, error) {
	f, err := readFields(r, h.opts.MaxBodyBytes, known...)
	if err != nil {
		return nil, app.Authenticated{}, err
	}
	a, err := h.authOf(r, f)
	return f, a, err
}

// replyUser answers err, or the user's profile.
func (h *handler) replyUser(w http.ResponseWriter, r *http.Request, u domain.User, err error) {
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	writeOK(w, profileOf(u))
}

// writeError answers err by the outcome table and logs it with the request id:
// server faults at error level with their cause, client mistakes at debug,
// a body not received within the read timeout at info, as errBodyTimeout,
// and anything else of a request its client cancelled at info, as
// errClientGone (the client is gone; whatever failed is no server fault).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	o, msg := outcomeOf(err)
	kind := kindName(err)
	level := slog.LevelDebug
	switch {
	case errors.Is(err, errBodyTimeout):
		// Checked first: net/http cancels the context of a request whose
		// body read failed, so a slow client looks like one that left.
		kind, level = "read_timeout", slog.LevelInfo
	case clientGone(r):
		o, msg, kind, level = errClientGone.outcome, errClientGone.msg, "client_gone", slog.LevelInfo
	case o.fault:
		level = slog.LevelError
	}
	log.LogAttrs(r.Context(), level, "request failed",
		slog.String("request_id", requestID(r.Context())),
		slog.String("path", r.URL.Path),
		slog.Int("code", o.code),
		slog.String("kind", kind),
		slog.String("error", err.Error()))
	if retry := domain.RetryAfterOf(err); retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	writeEnvelope(w, o.status, envelope{Code: o.code, Status: o.code, Msg: msg, Data: nil})
}

// kindName names err's kind for the log: a domain kind, or "transport".
func kindName(err error) string {
	var te *transportError
	if errors.As(err, &te) {
		return "transport"
	}
	return domain.KindOf(err).String()
}

// envelopeWriter is a buffer and its encoder, reused across answers.
type envelopeWriter struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// envelopeWriters keeps writers between answers: an answer allocated a
// buffer, its growth and an encoder each time.
var envelopeWriters = sync.Pool{New: func() any {
	ew := &envelopeWriter{}
	ew.enc = json.NewEncoder(&ew.buf)
	ew.enc.SetEscapeHTML(false) // keep avatar URLs' '&' readable
	return ew
}}

// maxPooledEnvelope is the largest buffer kept for reuse: a rare large
// answer does not pin its buffer.
const maxPooledEnvelope = 16 << 10

// The answer's fixed header values, shared (net/http only reads them).
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noStore         = []string{"no-store"}
)

func writeEnvelope(w http.ResponseWriter, status int, e envelope) {
	ew := envelopeWriters.Get().(*envelopeWriter)
	defer func() {
		if ew.buf.Cap() <= maxPooledEnvelope {
			ew.buf.Reset()
			envelopeWriters.Put(ew)
		}
	}()
	buf := &ew.buf
	if err := ew.enc.Encode(e); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"code":10,"status":10,"msg":"internal error","data":null}` + "\n")
	}
	if rec, ok := w.(*recorder); ok {
		rec.code = e.Code
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
