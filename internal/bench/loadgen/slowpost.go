package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"syscall"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
)

// errAnswered ends a paced body when the server answered before it was
// all sent.
var errAnswered = errors.New("answered before the whole body was sent")

// pace spreads a body's bytes over a time, as a slowloris-style client
// holds a request open: Chunk bytes at a time, the first at once and the
// others evenly over Hold.
type pace struct {
	Chunk int
	Hold  time.Duration
}

// writes is how many writes a body of size bytes takes.
func (p pace) writes(size int) int { return (size + p.Chunk - 1) / p.Chunk }

// gap is the wait before every write after the first.
func (p pace) gap(size int) time.Duration {
	if n := p.writes(size); n > 1 {
		return p.Hold / time.Duration(n-1)
	}
	return 0
}

// writePaced copies size bytes of r to w at pace p, and returns how many it
// wrote. It stops early, with errAnswered, when answered is closed, or with
// ctx's error. It makes at most p.writes(size) writes and waits at most
// p.Hold in all (a write's own time is bounded by the caller's deadline).
func writePaced(ctx context.Context, w io.Writer, r io.Reader, size int, p pace, answered <-chan struct{}) (int, error) {
	buf := make([]byte, p.Chunk)
	gap := p.gap(size)
	timer := time.NewTimer(gap)
	defer timer.Stop()
	written := 0
	for i := range p.writes(size) {
		if i > 0 {
			timer.Reset(gap)
			select {
			case <-ctx.Done():
				return written, ctx.Err()
			case <-answered:
				return written, errAnswered
			case <-timer.C:
			}
		}
		n, err := io.ReadFull(r, buf[:min(p.Chunk, size-written)])
		if err != nil {
			return written, err
		}
		n, err = w.Write(buf[:n])
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// slowUpload sends an avatar upload without a token to addr (host:port on
// loopback), its multipart body of an image part of size bytes written at
// pace p, and returns the answer ("HTTP 401, code 2", "connection reset"…)
// and whether it came before the whole body was sent (early). It is done within
// p.Hold and 15 s more; ok is false when ctx ended it.
func slowUpload(ctx context.Context, addr string, size int, p pace) (answer string, early, ok bool) {
	var pre bytes.Buffer
	mw := multipart.NewWriter(&pre)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="avatar"; filename="a.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	if _, err := mw.CreatePart(h); err != nil {
		return err.Error(), false, true
	}
	post := "\r\n--" + mw.Boundary() + "--\r\n"
	total := pre.Len() + size + len(post)
	body := io.MultiReader(&pre, io.LimitReader(zeros{}, int64(size)), bytes.NewReader([]byte(post)))

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return transportAnswer(err), false, ctx.Err() == nil
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(p.Hold + 15*time.Second))
	head := fmt.Sprintf("POST /api/v1/me/avatar HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		addr, mw.FormDataContentType(), total)
	if _, err := io.WriteString(conn, head); err != nil {
		return transportAnswer(err), false, ctx.Err() == nil
	}
	answered := make(chan struct{})
	result := make(chan string, 1)
	go func() { // the answer may come before the body is sent
		defer close(answered)
		result <- readAnswer(conn)
	}()
	sent, _ := writePaced(ctx, conn, body, total, p, answered)
	select {
	case <-answered:
	case <-ctx.Done():
		conn.Close()
		<-answered
		return "", false, false
	}
	// Early by what was sent, not how the writing ended: a server that
	// answers and closes may fail a write before the answer is read.
	return <-result, sent < total, ctx.Err() == nil
}

// readAnswer reads one HTTP answer and names it by status and envelope code.
func readAnswer(conn net.Conn) string {
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return transportAnswer(err)
	}
	defer resp.Body.Close()
	var env apiclient.Raw
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&env); err != nil {
		return fmt.Sprintf("HTTP %d, no envelope", resp.StatusCode)
	}
	return fmt.Sprintf("HTTP %d, code %d", resp.StatusCode, env.Code)
}

// transportAnswer names a failure below HTTP coarsely, so answers can be
// counted by kind.
func transportAnswer(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return "transport error"
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
