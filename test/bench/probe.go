// Package bench measures Ramp on the local cluster: how fast traffic
// shifts and rolls back, how far one controller scales, what analyses
// cost. `make bench` runs its benchmarks and writes bench/REPORT.md and
// bench/results.json.
package bench

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Latency summarises measured durations.
type Latency struct {
	N     int     `json:"n"`
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

// Summarise sorts ds and takes its percentiles (nearest rank).
func Summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	rank := func(q float64) time.Duration {
		return ds[max(0, int(math.Ceil(q*float64(len(ds))))-1)]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Latency{N: len(ds), P50Ms: ms(rank(0.5)), P99Ms: ms(rank(0.99)), MaxMs: ms(ds[len(ds)-1])}
}

// Metrics is one scrape of a Prometheus text endpoint.
type Metrics map[string]*dto.MetricFamily

// Scrape reads url (a /metrics endpoint).
func Scrape(url string) (Metrics, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// Sum adds the values (counter, gauge, or a histogram's count) of the
// family's series whose labels include every pair in match.
func (m Metrics) Sum(name string, match ...string) float64 {
	var sum float64
	for _, s := range m.series(name, match) {
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Histogram != nil:
			sum += float64(s.Histogram.GetSampleCount())
		case s.Untyped != nil:
			sum += s.Untyped.GetValue()
		}
	}
	return sum
}

// Buckets adds up the cumulative bucket counts of the family's histograms
// whose labels match, by upper bound.
func (m Metrics) Buckets(name string, match ...string) map[float64]float64 {
	out := map[float64]float64{}
	for _, s := range m.series(name, match) {
		for _, b := range s.GetHistogram().GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) { // the count stands for it
				out[b.GetUpperBound()] += float64(b.GetCumulativeCount())
			}
		}
		out[math.Inf(1)] += float64(s.GetHistogram().GetSampleCount())
	}
	return out
}

// Label returns the value of label on the family's first series ("" if
// there is none): an info metric's.
func (m Metrics) Label(name, label string) string {
	for _, s := range m.series(name, nil) {
		for _, l := range s.GetLabel() {
			if l.GetName() == label {
				return l.GetValue()
			}
		}
	}
	return ""
}

func (m Metrics) series(name string, match []string) []*dto.Metric {
	f := m[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, s := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(match); i += 2 {
			ok = ok && labels[match[i]] == match[i+1]
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// Quantile estimates the q-quantile of the observations made between two
// scrapes of a histogram (cumulative counts by upper bound), interpolating
// linearly inside the bucket it falls in, as Prometheus's
// histogram_quantile does. The answer is only as fine as the buckets.
func Quantile(q float64, before, after map[float64]float64) float64 {
	bounds := make([]float64, 0, len(after))
	for b := range after {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	total := after[math.Inf(1)] - before[math.Inf(1)]
	if total <= 0 {
		return math.NaN()
	}
	want := q * total
	lower, below := 0.0, 0.0
	for _, b := range bounds {
		n := after[b] - before[b]
		if n >= want {
			if math.IsInf(b, 1) {
				return lower // beyond the last bound: the bound is all we know
			}
			if n == below {
				return b
			}
			return lower + (b-lower)*(want-below)/(n-below)
		}
		lower, below = b, n
	}
	return lower
}

// Process is what /proc says of a process.
type Process struct {
	CPUSeconds float64 // user + system time so far
	PeakRSSMiB float64 // VmHWM: the most resident memory it ever had
	RSSMiB     float64 // VmRSS: its resident memory now
}

// ReadProcess reads /proc/PID/stat and /proc/PID/status.
func ReadProcess(pid int) (Process, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Process{}, err
	}
	// The command name (field 2) may hold spaces; fields count after ')'.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return Process{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	const clockTicks = 100 // USER_HZ on Linux
	p := Process{CPUSeconds: (utime + stime) / clockTicks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Process{}, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, rest, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		switch name {
		case "VmHWM":
			p.PeakRSSMiB = kb / 1024
		case "VmRSS":
			p.RSSMiB = kb / 1024
		}
	}
	return p, nil
}
