package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipgate/shipgate/adapters/bodylimit"
	"github.com/shipgate/shipgate/config"
)

// newHTTPServer returns the server for shipgate's one listener, bounded as the http section says, so
// that no client holds a connection longer than its request needs: slow headers and bodies are cut at
// read_header_timeout and read_timeout, slow readers of an answer at write_timeout, idle keep-alive
// connections at idle_timeout, and headers larger than max_header_bytes are answered 431; past
// max_connections, idle connections are closed to make room (connLimit).
//
// Every request carries the server's bodylimit.Limiter, in which the Slack, Discord and signed API
// handlers read the bodies they must read before they know the sender. Its gauge and counter are
// registered with reg (nil registers nothing).
func newHTTPServer(hc config.HTTPConfig, h http.Handler, reg prometheus.Registerer, logger *slog.Logger) *http.Server {
	bodies := bodylimit.New(hc.UnverifiedBodies, hc.UnverifiedBodyTimeout)
	conns := newConnLimit(hc.MaxConnections, logger)
	if reg != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shipgate_http_connections_open",
				Help: "Connections the HTTP listener holds open now."},
				func() float64 { return float64(conns.Open()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shipgate_http_connections_refused_total",
				Help: "New connections closed unserved because http.max_connections were open and none was idle."},
				func() float64 { return float64(conns.Refused()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shipgate_http_unverified_bodies_reading",
				Help: "Bodies of requests not yet verified (Slack, Discord, signed API calls) being read now."},
				func() float64 { return float64(bodies.Reading()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shipgate_http_unverified_bodies_refused_total",
				Help: "Requests answered 503 because http.unverified_bodies bodies were being read already."},
				func() float64 { return float64(bodies.Refused()) }),
		)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: hc.ReadHeaderTimeout,
		ReadTimeout:       hc.ReadTimeout,
		WriteTimeout:      hc.WriteTimeout,
		IdleTimeout:       hc.IdleTimeout,
		MaxHeaderBytes:    hc.MaxHeaderBytes,
		ConnState:         conns.track,
		BaseContext:       func(net.Listener) context.Context { return bodylimit.NewContext(context.Background(), bodies) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
