package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/domain"
)

// subscribe is POST /api/v1/me/subscriptions: what
// wx.requestSubscribeMessage answered the page, as it answered it (template
// ID → accept, reject, ban or filter, beside its errMsg), recorded in the
// consent ledger that subscribe messages are sent under.
func (h *handler) subscribe(w http.ResponseWriter, r *http.Request) {
	answers, token, err := readAnswers(r, h.opts.MaxBodyBytes)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	a, err := h.authOf(r, fields{{"token", token}})
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	if h.app.Subscriptions == nil {
		writeError(w, r, h.log, errors.New("no consent ledger configured"))
		return
	}
	got, err := h.app.Subscriptions.Record(r.Context(), a.Session, answers)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	out := apiclient.Subscriptions{Subscriptions: make([]apiclient.Subscription, len(got))}
	for i, c := range got {
		out.Subscriptions[i] = apiclient.Subscription{TemplateID: c.TemplateID, Status: c.Status, LongTerm: c.LongTerm,
			Remaining: c.Remaining, Allowed: c.Allows()}
	}
	writeOK(w, out)
}

// readAnswers reads a JSON object of template IDs and their answers; its
// errMsg is skipped and its token, if any, returned. Any other value that
// is not a string is malformed (the app layer checks the answers).
func readAnswers(r *http.Request, maxBody int64) (map[string]string, string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, "", errTooLarge
		}
		if err := readErr(err); err == errBodyTimeout {
			return nil, "", err
		}
		return nil, "", domain.Wrap(domain.KindInvalidInput, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, "", errNotObject
	}
	answers, token := map[string]string{}, ""
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, "", errNotObject
		}
		name, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, "", errNotObject
		}
		s, isString := v.(string)
		switch {
		case name == "errMsg":
			continue
		case !isString:
			return nil, "", domain.Malformed("templateId", "each answer must be a string")
		case name == "token":
			token = s
			continue
		}
		if _, dup := answers[name]; dup {
			return nil, "", domain.Malformed("templateId", "given twice")
		}
		answers[name] = s
	}
	if _, err := dec.Token(); err != nil {
		return nil, "", errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, "", errNotObject
	}
	return answers, token, nil
}
