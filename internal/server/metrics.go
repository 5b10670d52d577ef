package server

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, on the injected registry.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	signals      *prometheus.CounterVec
	signalLag    *prometheus.HistogramVec
	decisions    *prometheus.CounterVec
	listVersion  prometheus.Gauge
	waiting      prometheus.Gauge
	agentApplied *prometheus.GaugeVec
	applySeconds prometheus.Histogram

	mu      sync.Mutex
	applied map[string]uint64
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_server_requests_total", Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rampart_server_request_duration_seconds", Help: "HTTP request duration by endpoint (long polls include their wait).",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .5, 1, 5, 30, 60},
		}, []string{"endpoint"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_server_auth_failures_total", Help: "Requests refused: bad or missing token (bearer), or wrong role (role).",
		}, []string{"reason"}),
		signals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_server_signals_total", Help: "New signals accepted, by sensor.",
		}, []string{"sensor"}),
		signalLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rampart_server_signal_lag_seconds", Help: "Time from an alert to its signal reaching the server, by sensor.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 15, 60, 300, 3600},
		}, []string{"sensor"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_server_decisions_total", Help: "Decisions made, by origin.",
		}, []string{"origin"}),
		listVersion: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_server_list_version", Help: "The current block list version.",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_server_long_polls", Help: "Agents' change requests held open now.",
		}),
		agentApplied: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_server_agent_applied_version", Help: "The list version each agent reports in place.",
		}, []string{"agent"}),
		applySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rampart_server_agent_apply_duration_seconds", Help: "Agents' reported apply durations.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5},
		}),
		applied: map[string]uint64{},
	}
	reg.MustRegister(m.requests, m.latency, m.authFailures, m.signals, m.signalLag, m.decisions, m.listVersion, m.waiting, m.agentApplied, m.applySeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// noteApplied records an agent's applied version; it reports whether the
// version changed since the last note.
func (m *metrics) noteApplied(agent string, v uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.applied[agent]; ok && old == v {
		return false
	}
	m.applied[agent] = v
	m.agentApplied.WithLabelValues(agent).Set(float64(v))
	return true
}
