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
	f, a, err := h.readAuthed(r, phoneFields...)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	u, err := h.app.SetPhone.Handle(r.Context(), a.Session, app.PhoneInput{Code: f.val("code"),
		EncryptedData: f.get("encryptedData", "encrypedData"), IV: f.val("iv")})
	h.replyUser(w, r, u, err)
}

// removePhone is POST /api/v1/me/phone/remove: the user's number is
// forgotten.
func (h *handler) removePhone(w http.ResponseWriter, r *http.Request) {
	_, a, err := h.readAuthed(r, tokenFields...)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	u, err := h.app.RemovePhone.Handle(r.Context(), a.Session)
	h.replyUser(w, r, u, err)
}

// sessionStatus is GET /api/v1/session.
func (h *handler) sessionStatus(w http.ResponseWriter, r *http.Request) {
	a, err := h.authOf(r, nil)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	st, err := h.app.CheckSession.Handle(r.Context(), a.Session)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	writeOK(w, apiclient.Session{ExpiresIn: int64(st.ExpiresIn / time.Second), WeChatSessionValid: st.WeChatValid})
}
