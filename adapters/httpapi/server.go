package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"wxbackend/config/setting"
)

// ServerOptions are the http.Server's address and its limits against slow and
// idle clients; each tagged field is a setting (see config/setting).
type ServerOptions struct {
	Addr              string        `setting:"http-addr" default:"127.0.0.1:8080" usage:"listen address (0.0.0.0:8080 to serve a network)"`
	ReadHeaderTimeout time.Duration `setting:"http-read-header-timeout" default:"5s" usage:"time to read request headers"`
	ReadTimeout       time.Duration `setting:"http-read-timeout" default:"10s" usage:"time to read a whole request"`
	WriteTimeout      time.Duration `setting:"http-write-timeout" default:"15s" usage:"time to write a response"`
	IdleTimeout       time.Duration `setting:"http-idle-timeout" default:"2m" usage:"keep-alive idle time"`
	// ShutdownTimeout bounds how long Stop waits for in-flight requests.
	ShutdownTimeout time.Duration `setting:"http-shutdown-timeout" default:"20s" usage:"time in-flight requests get to finish on SIGTERM"`
}

// Check implements setting.Checker.
func (o *ServerOptions) Check(p *setting.Problems) {
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		p.Add(&o.Addr, "%q is not host:port", o.Addr)
	}
	for _, d := range []*time.Duration{&o.ReadHeaderTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.IdleTimeout, &o.ShutdownTimeout} {
		p.Positive(d)
	}
}

// Server serves a handler; Start binds at once so a taken port fails start-up.
type Server struct {
	srv  *http.Server
	log  *slog.Logger
	ln   net.Listener
	stop time.Duration
}

// NewServer returns a server of h; it does not listen until Start.
func NewServer(h http.Handler, log *slog.Logger, o ServerOptions) *Server {
	return &Server{log: log, stop: o.ShutdownTimeout, srv: &http.Server{
		Addr:              o.Addr,
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
}

// Start listens and serves in the background.
func (s *Server) Start(context.Context) error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.log.Info("listening", slog.String("addr", ln.Addr().String()))
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", slog.String("error", err.Error()))
		}
	}()
	return nil
}

// Stop stops accepting and waits for in-flight requests to finish, for at most
// the shutdown timeout (or until ctx ends), then closes what is left.
func (s *Server) Stop(ctx context.Context) error {
	if s.stop > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.stop)
		defer cancel()
	}
	s.log.Info("shutting down: draining in-flight requests")
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
		return err
	}
	return nil
}

// Addr returns the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}
