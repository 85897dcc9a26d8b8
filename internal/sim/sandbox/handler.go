package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Fault is a misbehaviour of WeChat's API, injected for one jscode2session
// call with InjectFault. Exactly one of its answers applies, checked in the
// order of the fields; Wait applies before any of them.
type Fault struct {
	// Wait, when set, holds the call until it is closed (or the caller gives
	// up); Arrived, when set, is closed as the call starts waiting.
	Wait    <-chan struct{}
	Arrived chan<- struct{}
	// Lost (server API only, InjectAPIFault) answers the call as usual,
	// so whatever it does is done (a message sent), then holds the answer
	// until the caller gives up, or with Reset drops the connection: an
	// answer lost on its way back.
	Lost bool
	// Hang holds the call until the caller gives up: a WeChat that never answers.
	Hang bool
	// Reset closes the connection without an answer.
	Reset bool
	// Status answers this HTTP status with Body.
	Status int
	Body   string
	// Errcode answers WeChat's error JSON with this errcode (e.g. -1 busy,
	// 45011 rate limited, 40226 risky user).
	Errcode int
	// Times is how many calls in a row get the fault (0 means 1). An HTTP
	// client retries a GET whose reused connection was reset, so a reset the
	// backend should see takes two.
	Times int
}

// InjectFault makes the next jscode2session call misbehave as f says; faults
// queue up, one per call.
func (s *Sandbox) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults drops the faults not yet applied.
func (s *Sandbox) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Sandbox) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	if f.Times--; f.Times <= 0 {
		s.faults = s.faults[1:]
	} else {
		s.faults[0] = f
	}
	return f, true
}

// Handler serves both faces: GET /sns/jscode2session (WeChat's API) and the
// client face under /sandbox/ (see the package's README section in the
// project README for the routes).
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sns/jscode2session", s.serveCode2Session)
	mux.HandleFunc("POST /cgi-bin/stable_token", s.serveStableToken)
	mux.HandleFunc("GET /cgi-bin/token", s.serveToken)
	mux.HandleFunc("POST /wxa/business/getuserphonenumber", s.servePhoneNumber)
	mux.HandleFunc("GET /wxa/checksession", s.serveCheckSession)
	mux.HandleFunc("POST /wxa/msg_sec_check", s.serveMsgSecCheck)
	s.pushRoutes(mux)      // WeChat's message push, and a webhook to deliver to (push.go)
	s.mediaRoutes(mux)     // WeChat's asynchronous image check (mediacheck.go)
	s.subscribeRoutes(mux) // subscribe messages: consent, send, sent events (subscribe.go)
	mux.HandleFunc("GET /wxa/resetusersessionkey", s.serveResetSessionKey)
	mux.HandleFunc("POST /cgi-bin/message/subscribe/send", s.serveSubscribeSend) // subscribe.go
	mux.HandleFunc("POST /wxa/getwxacodeunlimit", s.serveCodeUnlimit)
	mux.HandleFunc("POST /wxa/generate_urllink", s.serveURLLink)
	mux.HandleFunc("POST /sandbox/access_token/invalidate", s.serveInvalidate)
	mux.HandleFunc("POST /sandbox/wx/getPhoneNumber", s.clientFace(func(ctx context.Context, name string) (any, error) {
		code, enc, err := s.GetPhoneNumber(ctx, name)
		return struct {
			Code string `json:"code"`
			EncryptedPhone
			ErrMsg string `json:"errMsg"`
		}{code, enc, "getPhoneNumber:ok"}, err
	}))
	mux.HandleFunc("POST /sandbox/wx/login", s.clientFace(func(ctx context.Context, name string) (any, error) {
		c, err := s.Login(ctx, name)
		return map[string]string{"code": c, "errMsg": "login:ok"}, err
	}))
	mux.HandleFunc("POST /sandbox/wx/checkSession", s.clientFace(func(ctx context.Context, name string) (any, error) {
		ok, err := s.CheckSession(ctx, name)
		if err == nil && !ok {
			err = errSessionTimeout
		}
		return map[string]string{"errMsg": "checkSession:ok"}, err
	}))
	mux.HandleFunc("POST /sandbox/wx/getUserInfo", s.clientFace(func(ctx context.Context, name string) (any, error) {
		info, err := s.GetUserInfo(ctx, name)
		return struct {
			UserInfo
			ErrMsg string `json:"errMsg"`
		}{info, "getUserInfo:ok"}, err
	}))
	mux.HandleFunc("POST /sandbox/wx/chooseAvatar", s.clientFace(func(ctx context.Context, name string) (any, error) {
		data, err := s.ChooseAvatar(ctx, name)
		return map[string]string{"tempFilePath": "wxfile://tmp/avatar.jpg", "data": base64.StdEncoding.EncodeToString(data),
			"errMsg": "chooseAvatar:ok"}, err
	}))
	mux.HandleFunc("POST /sandbox/wx/nicknameInput", s.clientFace(func(ctx context.Context, name string) (any, error) {
		v, err := s.NicknameInput(ctx, name)
		return map[string]string{"value": v, "errMsg": "nicknameInput:ok"}, err
	}))
	mux.HandleFunc("PUT /sandbox/users/{user}/legacy", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Legacy bool }
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&body); err != nil {
			writeClient(w, nil, fmt.Errorf("%w: the body is {\"legacy\": true}", errBadRequest))
			return
		}
		if err := s.SetLegacy(r.Context(), r.PathValue("user"), body.Legacy); err != nil {
			writeClient(w, nil, err)
			return
		}
		u, err := s.User(r.Context(), r.PathValue("user"))
		writeClient(w, u, err)
	})
	mux.HandleFunc("GET /sandbox/users/{user}", func(w http.ResponseWriter, r *http.Request) {
		u, err := s.User(r.Context(), r.PathValue("user"))
		writeClient(w, u, err)
	})
	mux.HandleFunc("PUT /sandbox/users/{user}/profile", func(w http.ResponseWriter, r *http.Request) {
		var p Profile
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&p); err != nil {
			writeClient(w, nil, fmt.Errorf("%w: %v", errBadRequest, err))
			return
		}
		if err := s.SetProfile(r.Context(), r.PathValue("user"), p); err != nil {
			writeClient(w, nil, err)
			return
		}
		u, err := s.User(r.Context(), r.PathValue("user"))
		writeClient(w, u, err)
	})
	return s.counted(mux)
}

func (s *Sandbox) serveCode2Session(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.nextFault(); ok {
		if f.Wait != nil {
			if f.Arrived != nil {
				close(f.Arrived)
			}
			select {
			case <-f.Wait:
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f.Hang:
			<-r.Context().Done()
			return
		case f.Reset:
			resetConn(w)
			return
		case f.Status != 0:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, f.Body)
			return
		case f.Errcode != 0:
			writeWeChat(w, errReply(f.Errcode, "injected fault"))
			return
		}
	}
	q := r.URL.Query()
	writeWeChat(w, s.exchange(q.Get("appid"), q.Get("secret"), q.Get("js_code"), q.Get("grant_type")))
}

// resetConn closes the connection of w without an answer, with a RST.
func resetConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a RST, not a FIN
			}
			_ = conn.Close()
		}
	}
}

// writeWeChat answers as WeChat does: HTTP 200 and JSON labelled text/plain.
func writeWeChat(w http.ResponseWriter, reply code2SessionReply) {
	b, _ := json.Marshal(reply)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(b)
}

var (
	errBadRequest     = errors.New("sandbox: bad request")
	errSessionTimeout = errors.New("checkSession:fail session time out, need relogin")
)

// clientFace serves a wx.* call of the client face: the body names the user
// ({"user": "alice"}), the answer is what the wx API hands its success
// callback, or {"errMsg": "..."} with a 4xx status for its fail callback.
func (s *Sandbox) clientFace(call func(ctx context.Context, name string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			User string `json:"user"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
			writeClient(w, nil, fmt.Errorf("%w: the body is {\"user\": \"name\"}", errBadRequest))
			return
		}
		v, err := call(r.Context(), req.User)
		writeClient(w, v, err)
	}
}

func writeClient(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotLoggedIn) || errors.Is(err, errSessionTimeout) {
			status = http.StatusConflict
		}
		w.WriteHeader(status)
		v = map[string]string{"errMsg": err.Error()}
	}
	_ = json.NewEncoder(w).Encode(v)
}

// Listen opens a listener for a sandbox on addr, which must be a loopback
// address: a sandbox logs anyone in as anyone.
func Listen(addr string) (net.Listener, error) {
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

// CheckLoopback fails unless addr (host:port) names a loopback host.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sandbox: %q is not host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("sandbox: %q is not a loopback address; the sandbox and a backend using it only listen on 127.0.0.1, ::1 or localhost", addr)
}

// Serve runs the sandbox's handler on ln until ctx ends.
func (s *Sandbox) Serve(ctx context.Context, ln net.Listener) error {
	return serve(ctx, ln, s.Handler())
}

// Serve runs every app's sandbox on ln until ctx ends.
func (m *Multi) Serve(ctx context.Context, ln net.Listener) error { return serve(ctx, ln, m.Handler()) }

func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
