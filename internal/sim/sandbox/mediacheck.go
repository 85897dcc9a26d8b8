package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"wxbackend/domain"
)

// WeChat's asynchronous image check (wxa/media_check_async), played as
// WeChat plays it: the submission is answered a trace_id at once, and the
// result is pushed later, as a wxa_media_check event, to the app's push URL.
// The sandbox has no timers: a check's result is due MediaCheckDelay after
// its submission on the sandbox's clock, and POST /sandbox/media_check/push
// pushes the results due. What a check finds is chosen beforehand with
// POST /sandbox/media_check/next (NextMediaCheck); "silent" is a check whose
// result never comes, as a lost push.

// MediaCheckDelay is how long after its submission a check's result is due.
const MediaCheckDelay = 10 * time.Second

// The outcomes of a sandbox check: WeChat's three suggests, and none.
const (
	MediaPass   = "pass"
	MediaReview = "review"
	MediaRisky  = "risky"
	MediaSilent = "silent" // no result is ever pushed
)

// PushServiceAccount is the FromUserName of the sandbox's media check
// results for app appID: WeChat's push service, shaped as an openid and
// never any user's.
func PushServiceAccount(appID string) string { return derivedID("push-service", appID, "") }

// mediaCheck is a submitted check whose result is not pushed yet.
type mediaCheck struct {
	traceID, url, suggest string
	due                   time.Time
}

// mediaState is the sandbox's checks; guarded by Sandbox.mu.
type mediaState struct {
	next    []string // outcomes of the next checks, in order; pass when empty
	pending []mediaCheck
}

// NextMediaCheck makes the next check submitted find suggest (MediaPass,
// MediaReview, MediaRisky or MediaSilent); calls queue up in order.
func (s *Sandbox) NextMediaCheck(suggest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media.next = append(s.media.next, suggest)
}

func (s *Sandbox) mediaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /wxa/media_check_async", s.serveMediaCheckAsync)
	mux.HandleFunc("POST /sandbox/media_check/next", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Suggest string `json:"suggest"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req)
		switch req.Suggest {
		case MediaPass, MediaReview, MediaRisky, MediaSilent:
		default:
			http.Error(w, `want {"suggest": "pass" | "review" | "risky" | "silent"}`, http.StatusBadRequest)
			return
		}
		s.NextMediaCheck(req.Suggest)
		writeClient(w, map[string]string{"suggest": req.Suggest}, nil)
	})
	mux.HandleFunc("POST /sandbox/media_check/push", s.serveMediaCheckPush)
}

// serveMediaCheckAsync is POST wxa/media_check_async, version 2.
func (s *Sandbox) serveMediaCheckAsync(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MediaURL  string `json:"media_url"`
		MediaType int    `json:"media_type"`
		Version   int    `json:"version"`
		Scene     int    `json:"scene"`
		OpenID    string `json:"openid"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authorizeLocked(r); !ok {
		writeAPI(w, a)
		return
	}
	if req.Version != 2 || req.Scene < 1 || req.Scene > 4 || req.OpenID == "" || (req.MediaType != 1 && req.MediaType != 2) ||
		!(strings.HasPrefix(req.MediaURL, "http://") || strings.HasPrefix(req.MediaURL, "https://")) {
		writeAPI(w, apiError(47001, "data format error"))
		return
	}
	suggest := MediaPass
	if len(s.media.next) > 0 {
		suggest, s.media.next = s.media.next[0], s.media.next[1:]
	}
	id, err := randomHex(16)
	if err != nil {
		writeAPI(w, apiError(-1, "system error"))
		return
	}
	c := mediaCheck{traceID: id, url: req.MediaURL, suggest: suggest, due: s.now().Add(MediaCheckDelay)}
	if suggest != MediaSilent {
		s.media.pending = append(s.media.pending, c)
	}
	writeAPI(w, apiAnswer{"errcode": 0, "errmsg": "ok", "trace_id": id})
}

// MediaCheckPushRequest asks the sandbox to push the results due.
type MediaCheckPushRequest struct {
	URL    string   `json:"url"`              // the backend's /wechat/push/{appid}
	Mode   PushMode `json:"mode,omitempty"`   // as PushRequest's
	Format string   `json:"format,omitempty"` // xml (default) or json
}

// MediaCheckPushed is one result pushed, and what the backend answered.
type MediaCheckPushed struct {
	TraceID string `json:"traceId"`
	Suggest string `json:"suggest"`
	PushResult
}

// serveMediaCheckPush is POST /sandbox/media_check/push: every result due
// on the sandbox's clock, pushed as WeChat pushes it (version 2: result
// and detail). A result the backend does not answer "success" stays due.
func (s *Sandbox) serveMediaCheckPush(w http.ResponseWriter, r *http.Request) {
	var req MediaCheckPushRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil || req.URL == "" {
		http.Error(w, "want {url, mode, format}", http.StatusBadRequest)
		return
	}
	if s.push.app.Token == "" {
		http.Error(w, "the sandbox's app has no push token (wxsandbox -push-token)", http.StatusConflict)
		return
	}
	s.mu.Lock()
	now := s.now()
	var due []mediaCheck
	kept := s.media.pending[:0]
	for _, c := range s.media.pending {
		if now.Before(c.due) {
			kept = append(kept, c)
		} else {
			due = append(due, c)
		}
	}
	s.media.pending = kept
	s.mu.Unlock()
	pushed := []MediaCheckPushed{}
	for i, c := range due {
		res, err := s.pushMediaResult(r, req, c, now)
		if err != nil || res.Status != http.StatusOK || res.Answer != "success" {
			s.mu.Lock()
			s.media.pending = append(s.media.pending, due[i:]...)
			s.mu.Unlock()
			if err != nil {
				http.Error(w, "push: "+err.Error(), http.StatusBadGateway)
				return
			}
			pushed = append(pushed, MediaCheckPushed{TraceID: c.traceID, Suggest: c.suggest, PushResult: res})
			break
		}
		pushed = append(pushed, MediaCheckPushed{TraceID: c.traceID, Suggest: c.suggest, PushResult: res})
	}
	writeClient(w, map[string]any{"pushed": pushed}, nil)
}

// pushMediaResult pushes c's result as WeChat's version 2 event.
func (s *Sandbox) pushMediaResult(r *http.Request, req MediaCheckPushRequest, c mediaCheck, now time.Time) (PushResult, error) {
	label := 100
	if c.suggest != MediaPass {
		label = 20002 // pornography, as good as any
	}
	// FromUserName is WeChat's push service (平台推送服务UserName, as the
	// documentation gives it), not the user the check was submitted for:
	// a backend must find the check by its trace_id.
	event := map[string]any{
		"ToUserName": "gh_sandbox", "FromUserName": PushServiceAccount(s.appID), "CreateTime": now.Unix(),
		"MsgType": "event", "Event": "wxa_media_check", "appid": s.push.app.AppID, "trace_id": c.traceID, "version": 2,
		"errcode": 0, "errmsg": "ok",
		"result": map[string]any{"suggest": c.suggest, "label": label},
	}
	mode := req.Mode
	if mode == "" {
		mode = PushSafe
		if s.push.app.EncodingAESKey == "" {
			mode = PushPlain
		}
	}
	f, msg := domain.PushXML, EventXML(event)
	if req.Format == "json" {
		f, msg = domain.PushJSON, EventJSON(event)
	}
	p, err := NewPush(s.push.app, mode, f, msg, now)
	if err != nil {
		return PushResult{}, err
	}
	status, answer, err := p.Send(r.Context(), http.DefaultClient, req.URL)
	return PushResult{Status: status, Answer: answer}, err
}
