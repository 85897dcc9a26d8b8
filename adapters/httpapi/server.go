package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServerOptions are the http.Server's limits, against slow and idle clients.
type ServerOptions struct {
	Addr              string
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds how long Stop waits for in-flight requests.
	ShutdownTimeout time.Duration
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
