package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Report is bench/results.json: each benchmark fills its part, so one can
// be rerun alone and the rest of the report kept.
type Report struct {
	Machine Machine `json:"machine"`
	// Shift: promote asked → the routing object's new weight seen by a
	// watch, by router.
	Shift map[string]Latency `json:"shift,omitempty"`
	// Rollback: abort asked → canary weight 0 seen, by router.
	Rollback map[string]Latency `json:"rollback,omitempty"`
	// RollbackInController: rollback decided → weight 0 written, from the
	// controller's ramp_rollback_route_seconds histogram, by router.
	RollbackInController map[string]Latency `json:"rollbackInController,omitempty"`
	// RollbackFloor: the same as Rollback for the least any controller
	// must do (BenchmarkRollbackFloor), by router.
	RollbackFloor map[string]Latency `json:"rollbackFloor,omitempty"`
	// RollbackOnAnalysis: the failing measurement answered → weight 0
	// seen (SMI).
	RollbackOnAnalysis *Latency      `json:"rollbackOnAnalysis,omitempty"`
	Scale              *Scale        `json:"scale,omitempty"`
	Sharded            *Sharded      `json:"sharded,omitempty"`
	Hold               *Hold         `json:"hold,omitempty"`
	Soak               *Soak         `json:"soak,omitempty"`
	Analysis           *AnalysisLoad `json:"analysis,omitempty"`
	// Workloads: shift and rollback of a Deployment run in place beside a
	// Rollout's own template, by mode (BenchmarkWorkloads).
	Workloads map[string]WorkloadLatency `json:"workloads,omitempty"`
	// Safety is the zero-failed-requests matrix, one row per cell.
	Safety []SafetyCell `json:"safety,omitempty"`
}

// WorkloadLatency is one way of running a workload, timed.
type WorkloadLatency struct {
	Shift    Latency `json:"shift"`
	Rollback Latency `json:"rollback"`
}

// SafetyCell is one run of safety.Run.
type SafetyCell struct {
	Router             string                   `json:"router"`
	LagMs              int64                    `json:"lagMs"`
	JitterMs           int64                    `json:"jitterMs"`
	Reported           bool                     `json:"reported,omitempty"`
	DelaysOff          bool                     `json:"delaysOff,omitempty"`
	DelaySeconds       float64                  `json:"delaySeconds"`
	Requests           int                      `json:"requests"`
	Failed             int                      `json:"failed"`
	Injected           int                      `json:"injected"`
	Rate               float64                  `json:"rate"`
	Scenarios          map[string]ScenarioCount `json:"scenarios"`
	AbortToZeroMs      float64                  `json:"abortToZeroMs"`
	AbortPodsGoneMs    float64                  `json:"abortPodsGoneMs"`
	AnalysisPodsGoneMs float64                  `json:"analysisPodsGoneMs"`
}

// ScenarioCount is one scenario's part of a cell's load.
type ScenarioCount struct {
	Requests int `json:"requests"`
	Failed   int `json:"failed"`
}

// Machine is where the benchmarks ran.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryGiB  int    `json:"memoryGiB"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	Kubernetes string `json:"kubernetes"`
	Date       string `json:"date"`
}

// Scale is the 1,000-Rollout run.
type Scale struct {
	Rollouts        int                `json:"rollouts"`
	Steps           int                `json:"steps"`
	Concurrency     int                `json:"concurrency"`
	WallSeconds     float64            `json:"wallSeconds"`
	ReconcileP50Ms  float64            `json:"reconcileP50Ms"`
	ReconcileP99Ms  float64            `json:"reconcileP99Ms"`
	Reconciles      float64            `json:"reconciles"`
	RequestsPerStep float64            `json:"requestsPerRolloutStep"`
	WritesPerStep   float64            `json:"writesPerRolloutStep"`
	WritesByVerb    map[string]float64 `json:"writesByVerb"`
	// WritesByResource, per Rollout per step, from the audit log: "patch
	// rollouts/status".
	WritesByResource  map[string]float64 `json:"writesByResource"`
	CPUSeconds        float64            `json:"cpuSeconds"`
	PeakRSSMiB        float64            `json:"peakRSSMiB"`
	CreateWallSeconds float64            `json:"createWallSeconds"`
	// APIServerWriteMs: kube-apiserver's own time per write, over the run.
	APIServerWriteMs []VerbLatency `json:"apiserverWriteMs"`
}

// Sharded is the run of many Rollouts on replicas sharing them in shards,
// one of them killed midway.
type Sharded struct {
	Rollouts    int     `json:"rollouts"`
	Shards      int     `json:"shards"`
	Concurrency int     `json:"concurrency"`
	WallSeconds float64 `json:"wallSeconds"`
	// HandoverSeconds: the kill → the killed replica's shard held by another.
	HandoverSeconds float64 `json:"handoverSeconds"`
	// SettledAtKill: the Rollouts promoted when the replica was killed.
	SettledAtKill int              `json:"settledAtKill"`
	Replicas      []ShardedReplica `json:"replicas"`
}

// Hold is the run of many Rollouts held at rest by one controller.
type Hold struct {
	Rollouts          int     `json:"rollouts"`
	CreateWallSeconds float64 `json:"createWallSeconds"`
	PeakRSSMiB        float64 `json:"peakRSSMiB"`
	RSSMiB            float64 `json:"rssMiB"`
	IdleWindowSeconds float64 `json:"idleWindowSeconds"`
	IdleCores         float64 `json:"idleCores"`
	FinishedRuns      int     `json:"finishedRuns"`
	IdleCoresWithRuns float64 `json:"idleCoresWithRuns"`
	RSSMiBWithRuns    float64 `json:"rssMiBWithRuns"`
}

// Soak is the run of canaries cycling for a long while.
type Soak struct {
	Rollouts int     `json:"rollouts"`
	Seconds  float64 `json:"seconds"`
	Canaries int     `json:"canaries"`
	// WarmSeconds is when every Rollout had run historyCanaries canaries:
	// from then on each keeps as many ReplicaSets as it ever will.
	WarmSeconds     float64      `json:"warmSeconds,omitempty"`
	RSSGrowth       float64      `json:"rssGrowth"`
	HeapGrowth      float64      `json:"heapGrowth,omitempty"`
	GoroutineGrowth float64      `json:"goroutineGrowth"`
	Samples         []SoakSample `json:"samples"`
}

// historyCanaries is how many canaries a Rollout runs before it holds its
// full revision history: the default revisionHistoryLimit (10) old
// ReplicaSets, and the stable one.
const historyCanaries = 11

// warm is when the warm-up ends: once every Rollout holds its full
// revision history, and not before the first sixth of the run.
func (s *Soak) warm() float64 { return max(s.WarmSeconds, s.Seconds/6) }

// SoakSample is the controller at one moment of the soak.
type SoakSample struct {
	Seconds float64 `json:"s"`
	RSSMiB  float64 `json:"rssMiB"`
	// HeapMiB is the Go heap in use (go_memstats_heap_inuse_bytes): RSS
	// without what the runtime has freed but not yet returned.
	HeapMiB float64 `json:"heapMiB,omitempty"`
	// RetainedMiB is heap the runtime has freed but kept from the
	// operating system (idle, not released): part of RSS, none of the
	// heap in use.
	RetainedMiB float64 `json:"retainedMiB,omitempty"`
	Goroutines  float64 `json:"goroutines"`
	// ReplicaSets is how many the namespace holds: the bulk of what the
	// controller's caches hold.
	ReplicaSets int `json:"replicaSets,omitempty"`
}

// ShardedReplica is one replica's load in a Sharded run.
type ShardedReplica struct {
	Killed        bool    `json:"killed,omitempty"`
	ShardsAtStart int     `json:"shardsAtStart"`
	ShardsAtEnd   int     `json:"shardsAtEnd"`
	WriteShare    float64 `json:"writeShare"`
	CPUSeconds    float64 `json:"cpuSeconds"`
	PeakRSSMiB    float64 `json:"peakRSSMiB"`
}

// VerbLatency is kube-apiserver's time for one verb.
type VerbLatency struct {
	Verb  string  `json:"verb"`
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
}

// AnalysisLoad is the run of many analyses at once against Prometheus.
type AnalysisLoad struct {
	Analyses         int     `json:"analyses"`
	IntervalSeconds  float64 `json:"intervalSeconds"`
	WindowSeconds    float64 `json:"windowSeconds"`
	QueriesPerSecond float64 `json:"queriesPerSecond"`
	CPUCoresPer100   float64 `json:"cpuCoresPer100"`
	MeasurementsDone float64 `json:"measurements"`
}

var reportMu sync.Mutex

// Update reads bench/results.json (if any), lets change fill its part, and
// writes it back with bench/REPORT.md.
func Update(dir string, machine Machine, change func(*Report)) error {
	reportMu.Lock()
	defer reportMu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "results.json")
	var r Report
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	r.Machine = machine
	change(&r)
	if data, err = json.MarshalIndent(r, "", "  "); err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if r.Soak != nil {
		if err := os.WriteFile(filepath.Join(dir, "soak.svg"), []byte(SoakSVG(r.Soak)), 0o644); err != nil {
			return err
		}
	}
	notes, _ := os.ReadFile(filepath.Join(dir, "NOTES.md"))
	return os.WriteFile(filepath.Join(dir, "REPORT.md"), []byte(Markdown(r, string(notes))), 0o644)
}

// ThisMachine describes the machine from /proc.
func ThisMachine(kubernetes string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Kubernetes: kubernetes, Date: time.Now().UTC().Format(time.DateOnly)}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = (kb + 1<<19) >> 20
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}
