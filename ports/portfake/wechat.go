package portfake

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// WeChat answers login codes from a table. Calls counts exchanges per code.
type WeChat struct {
	App string

	mu    sync.Mutex
	codes map[string]codeAnswer
	calls map[string]int
	// Hook, when set, runs at the start of every exchange (to block or count).
	Hook func(code string)

	// The server API: access tokens issued and the one in force, phone
	// codes, and how the content check answers.
	tokens      int
	tokenCalls  int
	current     string
	tokenErr    error
	TokenHook   func(force bool) // runs at the start of every StableToken
	rejectAll   bool             // every API call answers 40001, whatever the token
	phones      map[string]domain.PhoneInfo
	Verdicts    map[string]domain.Verdict
	KeyValid    bool
	checkErr    error
	checks      int          // CheckSession calls with a valid access token
	forwards    int          // Forward calls
	mediaChecks []MediaCheck // MediaCheckAsync calls
}

// MediaCheck is one image submitted to MediaCheckAsync.
type MediaCheck struct {
	TraceID, OpenID, URL string
}

// tokenLife is how long an access token lives, as WeChat answers (7200 s).
const tokenLife = 2 * time.Hour

type codeAnswer struct {
	session ports.WeChatSession
	err     error
}

// NewWeChat returns a fake for app with no codes.
func NewWeChat(app string) *WeChat {
	return &WeChat{App: app, codes: map[string]codeAnswer{}, calls: map[string]int{}}
}

// AddCode makes code log in openID with the session key keyB64 (and unionID).
// A code works once; a second exchange answers like WeChat's 40163.
func (w *WeChat) AddCode(code, openID, unionID, keyB64 string) {
	key, err := domain.ParseSessionKey(keyB64)
	if err != nil {
		panic(fmt.Sprintf("portfake: bad session key: %v", err))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codes[code] = codeAnswer{session: ports.WeChatSession{OpenID: openID, UnionID: unionID, SessionKey: key}}
}

// FailCode makes code fail with err.
func (w *WeChat) FailCode(code string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codes[code] = codeAnswer{err: err}
}

// Calls returns how many times code was exchanged.
func (w *WeChat) Calls(code string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[code]
}

// AppID implements ports.WeChat.
func (w *WeChat) AppID() string { return w.App }

// Code2Session implements ports.WeChat.
func (w *WeChat) Code2Session(_ context.Context, code string) (ports.WeChatSession, error) {
	if w.Hook != nil {
		w.Hook(code)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[code]++
	a, ok := w.codes[code]
	if !ok {
		return ports.WeChatSession{}, domain.Wrap(domain.KindBadCode, fmt.Errorf("errcode 40029"))
	}
	if a.err != nil {
		return ports.WeChatSession{}, a.err
	}
	if w.calls[code] > 1 {
		return ports.WeChatSession{}, domain.Wrap(domain.KindBadCode, fmt.Errorf("errcode 40163"))
	}
	return a.session, nil
}

// FailTokens makes StableToken fail with err (nil: work again).
func (w *WeChat) FailTokens(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tokenErr = err
}

// InvalidateToken makes the token in force invalid, as another fetch of
// cgi-bin/token would: the next API call with it answers 40001, and
// StableToken's normal mode issues a new one.
func (w *WeChat) InvalidateToken() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.current = ""
}

// RejectEveryToken makes every API call answer 40001 (on) while normal-mode
// StableToken keeps answering the same token: only a forced refresh helps,
// and then calls work again.
func (w *WeChat) RejectEveryToken(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rejectAll = on
}

// TokensIssued returns how many access tokens StableToken handed out that
// were new (a normal-mode answer of the token in force is not new).
func (w *WeChat) TokensIssued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tokens
}

// TokenCalls returns how many times StableToken was called.
func (w *WeChat) TokenCalls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tokenCalls
}

// AddPhoneCode makes a getPhoneNumber code answer info, once.
func (w *WeChat) AddPhoneCode(code string, info domain.PhoneInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phones == nil {
		w.phones = map[string]domain.PhoneInfo{}
	}
	w.phones[code] = info
}

// StableToken implements ports.WeChat.
func (w *WeChat) StableToken(_ context.Context, force bool) (domain.AccessToken, time.Duration, error) {
	if w.TokenHook != nil {
		w.TokenHook(force)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tokenCalls++
	if w.tokenErr != nil {
		return domain.AccessToken{}, 0, w.tokenErr
	}
	if w.current == "" || force {
		w.tokens++
		w.current = fmt.Sprintf("fake-token-%d", w.tokens)
		if force {
			w.rejectAll = false
		}
	}
	return domain.NewAccessToken(w.current), tokenLife, nil
}

// use checks a token an API call carries.
func (w *WeChat) use(t domain.AccessToken) error {
	if w.rejectAll || t.Reveal() != w.current || w.current == "" {
		return domain.Wrap(domain.KindUpstream, fmt.Errorf("errcode 40001: %w", ports.ErrAccessTokenRejected))
	}
	return nil
}

// PhoneNumber implements ports.WeChat.
func (w *WeChat) PhoneNumber(_ context.Context, t domain.AccessToken, code string) (domain.PhoneInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.use(t); err != nil {
		return domain.PhoneInfo{}, err
	}
	info, ok := w.phones[code]
	if !ok {
		return domain.PhoneInfo{}, domain.Wrap(domain.KindBadCode, fmt.Errorf("errcode 40029"))
	}
	delete(w.phones, code)
	return info, nil
}

// CheckSession implements ports.WeChat: KeyValid answers.
func (w *WeChat) CheckSession(_ context.Context, t domain.AccessToken, _ string, _ domain.SessionKey) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.use(t); err != nil {
		return false, err
	}
	w.checks++
	return w.KeyValid, w.checkErr
}

// SessionChecks returns how many times CheckSession was called with a
// valid access token (and so answered, or failed by FailChecks).
func (w *WeChat) SessionChecks() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checks
}

// CheckText implements ports.WeChat: Verdicts answers (pass by default).
func (w *WeChat) CheckText(_ context.Context, t domain.AccessToken, _, text string) (domain.Verdict, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.use(t); err != nil {
		return "", err
	}
	if w.checkErr != nil {
		return "", w.checkErr
	}
	if v, ok := w.Verdicts[text]; ok {
		return v, nil
	}
	return domain.VerdictPass, nil
}

// FailChecks makes CheckSession and CheckText fail with err.
func (w *WeChat) FailChecks(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checkErr = err
}

// Forward implements ports.WeChat: a call with the token in force answers
// 200 and {"errcode":0,"errmsg":"ok","path":…} (JSON), any other token
// WeChat's 40001.
func (w *WeChat) Forward(_ context.Context, t domain.AccessToken, req ports.APIRequest) (ports.APIResponse, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forwards++
	hdr := map[string][]string{"Content-Type": {"application/json; charset=utf-8"}}
	if err := w.use(t); err != nil {
		return ports.APIResponse{Status: 200, Header: hdr, JSON: true, Errcode: 40001,
			Body: []byte(`{"errcode":40001,"errmsg":"invalid credential"}`)}, err
	}
	return ports.APIResponse{Status: 200, Header: hdr, JSON: true,
		Body: fmt.Appendf(nil, `{"errcode":0,"errmsg":"ok","path":%q}`, req.Path)}, nil
}

// Forwards returns how many times Forward was called.
func (w *WeChat) Forwards() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.forwards
}

// MediaCheckAsync implements ports.WeChat: it records the submission (see
// MediaChecks) and answers its trace_id, "trace-" and its index from 1;
// nothing is pushed (a test pushes the result it wants).
func (w *WeChat) MediaCheckAsync(_ context.Context, t domain.AccessToken, openID, mediaURL string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.use(t); err != nil {
		return "", err
	}
	if w.checkErr != nil {
		return "", w.checkErr
	}
	id := "trace-" + strconv.Itoa(len(w.mediaChecks)+1)
	w.mediaChecks = append(w.mediaChecks, MediaCheck{TraceID: id, OpenID: openID, URL: mediaURL})
	return id, nil
}

// MediaChecks returns the images submitted to MediaCheckAsync, in order.
func (w *WeChat) MediaChecks() []MediaCheck {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]MediaCheck(nil), w.mediaChecks...)
}
