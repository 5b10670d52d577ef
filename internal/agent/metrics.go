package agent

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus series, on the registry it is given.
type metrics struct {
	reg       *prometheus.Registry
	version   prometheus.Gauge
	entries   prometheus.Gauge
	applied   prometheus.Gauge
	apply     prometheus.Histogram
	applyErrs prometheus.Counter
	refused   *prometheus.CounterVec
	pollErrs  prometheus.Counter
	drift     prometheus.Gauge
	// ready is set once a list is in place (booted or pulled).
	ready atomic.Bool
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		reg: reg,
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_agent_list_version", Help: "The list version in place on this host.",
		}),
		entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_agent_entries", Help: "Entries the back ends hold after aggregation.",
		}),
		applied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_agent_last_apply_timestamp_seconds", Help: "When the last successful apply finished (Unix time).",
		}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rampart_agent_apply_duration_seconds", Help: "Time the back ends took to apply a list.",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .5, 1, 5},
		}),
		applyErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_agent_apply_errors_total", Help: "Applies a back end failed (the previous state stayed).",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_agent_refused_total", Help: "Lists or deltas refused, by reason: signature, never_block, max_change.",
		}, []string{"reason"}),
		pollErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_agent_poll_errors_total", Help: "Requests to the server that failed (retried with backoff).",
		}),
	}
	m.drift = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rampart_agent_drift_entries", Help: "Entries a back end differed from the list by at its last read-back (re-applied then).",
	})
	reg.MustRegister(m.version, m.entries, m.applied, m.apply, m.applyErrs, m.refused, m.pollErrs, m.drift,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics, /healthz (the process runs) and /readyz (a
// list is in place, from disk or from the server).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.m.ready.Load() {
			http.Error(w, "no list applied yet", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}
