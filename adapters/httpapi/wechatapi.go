package httpapi

import (
	"net/http"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/app"
)

// Body parameters of the phone route.
var phoneFields = []string{"code", "encryptedData", "encrypedData", "iv", "token"}

// sharePhone is POST /api/v1/me/phone: getPhoneNumber's code, or its older
// encrypted form.
func (h *handler) sharePhone(w http.ResponseWriter, r *http.Request) {
	f, c, err := h.readAuthed(r, phoneFields...)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	u, err := h.svc.SetPhone(r.Context(), c.app, c.token, app.PhoneInput{Code: f["code"],
		EncryptedData: f.get("encryptedData", "encrypedData"), IV: f["iv"]})
	h.replyUser(w, r, u, err)
}

// removePhone is POST /api/v1/me/phone/remove: the user's number is
// forgotten.
func (h *handler) removePhone(w http.ResponseWriter, r *http.Request) {
	_, c, err := h.readAuthed(r, tokenFields...)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	u, err := h.svc.RemovePhone(r.Context(), c.app, c.token)
	h.replyUser(w, r, u, err)
}

// sessionStatus is GET /api/v1/session.
func (h *handler) sessionStatus(w http.ResponseWriter, r *http.Request) {
	c, err := callerOf(r, fields{})
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	st, err := h.svc.SessionStatus(r.Context(), c.app, c.token)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	writeOK(w, apiclient.Session{ExpiresIn: int64(st.ExpiresIn / time.Second), WeChatSessionValid: st.WeChatValid})
}
