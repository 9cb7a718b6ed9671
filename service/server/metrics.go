package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/service/accounting"
)

// accountingCollector exposes the usage writer's counters to Prometheus.
type accountingCollector struct {
	w                                                                     *accounting.Writer
	recorded, written, batches, failures, spilled, replayed, dropped, bad *prometheus.Desc
	queued, pending                                                       *prometheus.Desc
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
		spilled:  d("records_spilled_total", "Records written to the local spill directory during an outage."),
		replayed: d("records_replayed_total", "Spilled records replayed into Postgres."),
		dropped:  d("records_dropped_total", "Records lost (see the writer's documentation for when)."),
		bad:      d("spill_lines_corrupt_total", "Spill lines that could not be decoded and were skipped."),
		queued:   d("records_queued", "Records waiting in memory to be written."),
		pending:  d("records_pending", "Records held in memory after a failed insert."),
	}
}

// Describe implements prometheus.Collector.
func (c *accountingCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.recorded, c.written, c.batches, c.failures, c.spilled, c.replayed, c.dropped, c.bad, c.queued, c.pending} {
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
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.Pending))
}
