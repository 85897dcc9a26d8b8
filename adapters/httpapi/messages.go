package httpapi

// The internal listener's subscribe messages (scope messages): POST
// /v1/messages accepts a message for sending (202 once stored in the
// outbox), GET /v1/messages/{id} tells what became of it.

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"wxbackend/app"
	"wxbackend/domain"
)

// messageMaxBody bounds a message request: data of 20 keywords is a few KiB.
const messageMaxBody = 64 << 10

// MessageView is a message as the internal API shows it.
type MessageView struct {
	ID             int64             `json:"id"`
	AppID          string            `json:"appid"`
	OpenID         string            `json:"openid"`
	TemplateID     string            `json:"template_id"`
	IdempotencyKey string            `json:"idempotency_key"`
	Status         string            `json:"status"`
	State          string            `json:"state"`
	MsgID          string            `json:"msgid,omitempty"` // a 64-bit integer, as text: JavaScript reads no more than 2^53 exactly
	ErrCode        int               `json:"errcode"`
	Unknown        int               `json:"unknown_attempts"`
	Attempts       int               `json:"attempts"`
	Data           map[string]string `json:"data"`
}

// MessageRoutes are the internal routes of subscribe messages.
func MessageRoutes(a *app.App, log *slog.Logger) []InternalRoute {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &messageHandler{app: a, log: log}
	return []InternalRoute{
		{Scope: domain.ScopeMessages, Method: http.MethodPost, Pattern: "/v1/messages", Handler: http.HandlerFunc(h.send)},
		{Scope: domain.ScopeMessages, Method: http.MethodGet, Pattern: "/v1/messages/{id}", Handler: http.HandlerFunc(h.get)},
	}
}

type messageHandler struct {
	app *app.App
	log *slog.Logger
}

func (h *messageHandler) send(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AppID            string         `json:"appid"`
		OpenID           string         `json:"openid"`
		UserID           string         `json:"user_id"`
		TemplateID       string         `json:"template_id"`
		Page             string         `json:"page"`
		MiniprogramState string         `json:"miniprogram_state"`
		Lang             string         `json:"lang"`
		Data             map[string]any `json:"data"`
		IdempotencyKey   string         `json:"idempotency_key"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, messageMaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) { // code 11, 413, as every other body over its limit
			writeError(w, r, h.log, errTooLarge)
			return
		}
		writeError(w, r, h.log, readErr(err))
		return
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, r, h.log, domain.Malformed("body", "a JSON object"))
		return
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		if in.IdempotencyKey != "" && in.IdempotencyKey != k {
			writeError(w, r, h.log, domain.Malformed("idempotency_key", "the header and the body name different keys"))
			return
		}
		in.IdempotencyKey = k
	}
	data := make(map[string]string, len(in.Data))
	for k, v := range in.Data {
		// WeChat's own shape {"thing1": {"value": "…"}} or a plain string.
		switch v := v.(type) {
		case string:
			data[k] = v
		case map[string]any:
			s, ok := v["value"].(string)
			if !ok {
				writeError(w, r, h.log, domain.Malformed("data."+k, "a string, or {\"value\": string}"))
				return
			}
			data[k] = s
		default:
			writeError(w, r, h.log, domain.Malformed("data."+k, "a string, or {\"value\": string}"))
			return
		}
	}
	if h.app.Messages == nil {
		writeError(w, r, h.log, errors.New("no outbox configured"))
		return
	}
	appID, err := h.app.AppID(in.AppID)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	if !apiKeyOf(r).AllowsApp(appID) {
		writeError(w, r, h.log, domain.ErrForbidden)
		return
	}
	j, added, err := h.app.Messages.Send(r.Context(), app.SendInput{AppID: appID, OpenID: in.OpenID, UserID: in.UserID, TemplateID: in.TemplateID,
		Page: in.Page, MiniprogramState: in.MiniprogramState, Lang: in.Lang, Data: data, IdempotencyKey: in.IdempotencyKey})
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	status := http.StatusAccepted
	if !added {
		status = http.StatusOK // the same key again: the first message, as it is now
	}
	writeEnvelope(w, status, envelope{Code: 0, Status: 0, Msg: "ok", Data: viewOf(j.ID, j.State, j.Attempts, j.Item)})
}

func (h *messageHandler) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, h.log, domain.Malformed("id", "a message id"))
		return
	}
	if h.app.Messages == nil {
		writeError(w, r, h.log, errors.New("no outbox configured"))
		return
	}
	appID, err := h.app.AppID(r.URL.Query().Get("appid"))
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	if !apiKeyOf(r).AllowsApp(appID) {
		writeError(w, r, h.log, domain.ErrForbidden)
		return
	}
	j, err := h.app.Messages.Get(r.Context(), appID, id)
	if domain.KindOf(err) == domain.KindNotFound {
		err = domain.Malformed("id", "no such message")
	}
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	writeOK(w, viewOf(j.ID, j.State, j.Attempts, j.Item))
}

func viewOf(id int64, state string, attempts int, m domain.Message) MessageView {
	v := MessageView{ID: id, AppID: m.AppID, OpenID: m.OpenID, TemplateID: m.TemplateID, IdempotencyKey: m.IdempotencyKey,
		Status: m.Status, State: state, ErrCode: m.ErrCode, Unknown: m.Unknown, Attempts: attempts, Data: m.Data}
	if m.MsgID != 0 {
		v.MsgID = strconv.FormatInt(m.MsgID, 10)
	}
	return v
}
