package health

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// startHTTP serves /livez, /readyz, /healthz (200 with "healthy", or 503 with
// the reason) and /status (the JSON Status) on Config.HTTPAddr. It returns the
// function that stops the server, nil when there is none. A failed bind is
// logged, not fatal.
func (m *Monitor) startHTTP() func() {
	if m.cfg.HTTPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.cfg.HTTPAddr)
	if err != nil {
		m.log.WithError(err).WithField("addr", m.cfg.HTTPAddr).Error("cannot serve HTTP health endpoint")
		return nil
	}
	m.mu.Lock()
	m.httpAddr = ln.Addr().String()
	m.mu.Unlock()
	mux := http.NewServeMux()
	word := func(w string) http.HandlerFunc {
		return func(rw http.ResponseWriter, _ *http.Request) {
			reply := m.reply(w)
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.Header().Set("Cache-Control", "no-store")
			if reply != common.HealthcheckIPCResponse {
				rw.WriteHeader(http.StatusServiceUnavailable)
			}
			io.WriteString(rw, reply+"\n")
		}
	}
	mux.Handle("GET /livez", word(wordLive))
	mux.Handle("GET /readyz", word(wordReady))
	mux.Handle("GET /healthz", word(wordPing))
	mux.HandleFunc("GET /status", func(rw http.ResponseWriter, _ *http.Request) {
		b, _ := json.MarshalIndent(m.Status(), "", "  ")
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Cache-Control", "no-store")
		rw.Write(append(b, '\n'))
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: ioTimeout,
		ReadTimeout:       ioTimeout,
		WriteTimeout:      ioTimeout,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		srv.Serve(ln)
	}()
	m.log.WithField("addr", m.httpAddr).Debug("serving HTTP health endpoint")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
}
