package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/service/accounting"
)

// accountingCollector exposes the usage writer's counters to Prometheus.
type accountingCollector struct {
	w                                                                     *accounting.Writer
	recorded, written, batches, failures, spilled, replayed, dropped, bad *prometheus.Desc
	logged, dead, logFailures, durableTimeouts                            *prometheus.Desc
	queued, pending, logBytes, logFull, behind                            *prometheus.Desc
}

func newAccountingCollector(w *accounting.Writer) *accountingCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("tollgate_accounting_"+name, help, nil, nil)
	}
	return &accountingCollector{
		w:        w,
		recorded: d("records_recorded_total", "Request records handed to the writer."),
		written:  d("records_written_total", "Request records stored in Postgres."),
		batches:  d("batches_total", "Successful batch inserts."),
		failures: d("batch_failures_total", "Failed batch inserts (retried)."),
		spilled:  d("records_spilled_total", "Records left to the local log only (the store behind, or after shutdown), to be replayed."),
		replayed: d("records_replayed_total", "Records read back from the local log and written to Postgres."),
		dropped:  d("records_dropped_total", "Records lost (see the writer's documentation for when)."),
		bad:      d("spill_lines_corrupt_total", "Local log lines that could not be decoded and were skipped."),
		logged:   d("records_logged_total", "Records appended to the local log."),
		dead:     d("records_dead_lettered_total", "Records Postgres rejected, kept in request_records_dead."),
		logFailures: d("log_failures_total",
			"Group commits the local log refused (full or failing); their records were kept in memory only."),
		durableTimeouts: d("durable_timeouts_total", "Answers that stopped waiting for a stalled group commit (-durable-records)."),
		queued:          d("records_queued", "Records waiting in memory for the group commit or to be written."),
		pending:         d("records_pending", "Records held in memory after a failed insert."),
		logBytes:        d("log_bytes", "Size of the local record log."),
		logFull:         d("log_full", "1 while the local record log is at -spill-max-bytes."),
		behind:          d("store_behind", "1 while Postgres does not take records (an insert failing, or records waiting in the local log)."),
	}
}

// Describe implements prometheus.Collector.
func (c *accountingCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.recorded, c.written, c.batches, c.failures, c.spilled, c.replayed, c.dropped, c.bad,
		c.logged, c.dead, c.logFailures, c.durableTimeouts, c.queued, c.pending, c.logBytes, c.logFull, c.behind} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *accountingCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.Stats()
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.recorded, s.Recorded)
	counter(c.written, s.Written)
	counter(c.batches, s.Batches)
	counter(c.failures, s.Failures)
	counter(c.spilled, s.Spilled)
	counter(c.replayed, s.Replayed)
	counter(c.dropped, s.Dropped)
	counter(c.bad, s.Corrupt)
	counter(c.logged, s.Logged)
	counter(c.dead, s.DeadLettered)
	counter(c.logFailures, s.LogFailures)
	counter(c.durableTimeouts, s.DurableTimeouts)
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(c.queued, float64(s.Queued))
	gauge(c.pending, float64(s.Pending))
	gauge(c.logBytes, float64(s.LogBytes))
	full := 0.0
	if s.LogFull {
		full = 1
	}
	gauge(c.logFull, full)
	behind := 0.0
	if s.Behind {
		behind = 1
	}
	gauge(c.behind, behind)
}
