package bench

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Markdown renders the report with its targets, then the notes (the
// hand-written reading of the numbers, bench/NOTES.md).
func Markdown(r Report, notes string) string {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Ramp benchmarks\n\n")
	p("Written by `make bench` (test/bench); the numbers are in results.json. Everything runs on\n")
	p("the local cluster (test/localcluster: real kube-apiserver and etcd, kwok nodes), with the\n")
	p("controller as its own process, on this machine:\n\n")
	m := r.Machine
	p("| CPU | cores | memory | kernel | Go | Kubernetes | date |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	p("| %s | %d | %d GiB | %s | %s | %s | %s |\n\n", m.CPU, m.Cores, m.MemoryGiB, m.Kernel, m.Go, m.Kubernetes, m.Date)
	scaleTable(p, r)

	latencies := func(title, what string, rows map[string]Latency) {
		if len(rows) == 0 {
			return
		}
		p("## %s\n\n%s\n\n| router | n | p50 | p99 | max |\n| --- | --- | --- | --- | --- |\n", title, what)
		for _, router := range []string{"pod ratio", "SMI", "Gateway API", "Istio"} {
			if l, ok := rows[router]; ok {
				most := "—"
				if l.MaxMs > 0 {
					most = ms(l.MaxMs)
				}
				p("| %s | %d | %s | %s | %s |\n", router, l.N, ms(l.P50Ms), ms(l.P99Ms), most)
			}
		}
		p("\n")
	}
	latencies("Shift latency", "From `ramp promote` (the annotation written) to the routing object's next weight seen by a\n"+
		"watch, over consecutive steps of 10% (pod ratio: the canary ReplicaSet's next replica count).", r.Shift)
	latencies("Rollback latency", "From `ramp abort` (the annotation written) to the canary's weight 0 seen by a watch (pod\n"+
		"ratio: the canary ReplicaSet's 0 replicas).", r.Rollback)
	if len(r.Workloads) > 0 {
		p("## A Deployment run in place, beside a Rollout's own template\n\n")
		p("The shift (`ramp promote` at 30%% to the 60%% weight seen) and the rollback (`ramp abort` to the\n")
		p("weight 0 seen) of a Deployment run in place (`workloadRef.mode: InPlace`) and of a Rollout\n")
		p("with its own template: Gateway API, ten replicas, one controller, same run.\n\n")
		p("| workload | n | shift p50 | shift p99 | rollback p50 | rollback p99 |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, mode := range []string{"template", "in place"} {
			if l, ok := r.Workloads[mode]; ok {
				p("| %s | %d | %s | %s | %s | %s |\n", mode, l.Shift.N, ms(l.Shift.P50Ms), ms(l.Shift.P99Ms), ms(l.Rollback.P50Ms), ms(l.Rollback.P99Ms))
			}
		}
		p("\n")
	}
	latencies("Rollback inside the controller", "From the pass's rollback decision to the canary's weight 0 written (the write answered),\n"+
		"from the controller's `ramp_rollback_route_seconds` histogram, interpolated in its buckets (no max:\n"+
		"a histogram keeps none). n counts passes that decided a rollback: one whose status write\n"+
		"conflicted decides again. Target: p50 under 10 ms.", r.RollbackInController)
	if len(r.RollbackFloor) > 0 {
		p("## Rollback and shift against their floor\n\nThe rollback and shift latencies above, and the same measured for the least any controller must\n")
		p("do: a minimal client-go program that watches the Rollouts and, at an abort, writes the weight Ramp\n")
		p("wrote, in one merge patch prepared in advance (no cache, status or event). Same run, same\n")
		p("cluster. A shift asks the floor for exactly the same (see a request in a watch event, write one\n")
		p("prepared patch), so one floor serves both. Target: Ramp at most 1.3 times the floor at p50.\n\n")
		p("| router | floor n | floor p50 | floor p99 | rollback p50 | rollback / floor | shift p50 | shift / floor |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
		against := func(l Latency, ok bool, floor float64) (string, string) {
			if !ok {
				return "", ""
			}
			ratio := l.P50Ms / floor
			verdict := "met"
			if ratio > 1.3 {
				verdict = "**missed**"
			}
			return ms(l.P50Ms), fmt.Sprintf("%.2f (%s)", ratio, verdict)
		}
		for _, router := range []string{"pod ratio", "SMI", "Gateway API", "Istio"} {
			f, ok := r.RollbackFloor[router]
			if !ok || f.P50Ms == 0 {
				continue
			}
			rollback, rollbackRatio := against(r.Rollback[router], r.Rollback[router].N > 0, f.P50Ms)
			shift, shiftRatio := against(r.Shift[router], r.Shift[router].N > 0, f.P50Ms)
			p("| %s | %d | %s | %s | %s | %s | %s | %s |\n", router, f.N, ms(f.P50Ms), ms(f.P99Ms), rollback, rollbackRatio, shift, shiftRatio)
		}
		p("\n")
	}
	if l := r.RollbackOnAnalysis; l != nil {
		p("## Rollback on a failed analysis\n\nFrom the metric server's failing answer to the canary's weight 0 seen (SMI): one\n")
		p("measurement, its run failing, the Rollout aborting, the weights written.\n\n")
		p("| n | p50 | p99 | max |\n| --- | --- | --- | --- |\n| %d | %s | %s | %s |\n\n", l.N, ms(l.P50Ms), ms(l.P99Ms), ms(l.MaxMs))
	}
	if s := r.Scale; s != nil {
		p("## Scale\n\n%d Rollouts of 2 replicas (SMI), all given a new image at once, each going through %d\n", s.Rollouts, s.Steps)
		p("weighted steps to promotion; one controller (`--concurrency %d`).\n\n", s.Concurrency)
		p("| measure | value | target |\n| --- | --- | --- |\n")
		p("| wall time, new image to all promoted | %.1f s | |\n", s.WallSeconds)
		p("| reconciles | %.0f | |\n", s.Reconciles)
		p("| reconcile p50 / p99 | %s / %s | p99 < 100 ms %s |\n", ms(s.ReconcileP50Ms), ms(s.ReconcileP99Ms), verdict(s.ReconcileP99Ms < 100))
		p("| API requests per Rollout per step | %.1f | |\n", s.RequestsPerStep)
		p("| API writes per Rollout per step | %.2f (%s) | ≤ 3 %s |\n", s.WritesPerStep, verbs(s.WritesByVerb), verdict(s.WritesPerStep <= 3))
		for _, v := range s.APIServerWriteMs {
			p("| kube-apiserver's time per %s, p50 / p99 | %s / %s | |\n", v.Verb, ms(v.P50Ms), ms(v.P99Ms))
		}
		p("| controller CPU | %.1f s | |\n", s.CPUSeconds)
		p("| controller peak RSS | %.0f MiB | < 300 MiB %s |\n", s.PeakRSSMiB, verdict(s.PeakRSSMiB < 300))
		p("| (creating the %d Rollouts and their first revision) | %.1f s | |\n\n", s.Rollouts, s.CreateWallSeconds)
		if len(s.WritesByResource) > 0 {
			p("The controller's writes per Rollout per step, from the API server's audit log:\n\n| write | per Rollout per step |\n| --- | --- |\n")
			keys := make([]string, 0, len(s.WritesByResource))
			for k := range s.WritesByResource {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(s.WritesByResource[b], s.WritesByResource[a]) })
			for _, k := range keys {
				p("| %s | %.2f |\n", k, s.WritesByResource[k])
			}
			p("\n")
		}
	}
	if h := r.Hold; h != nil {
		p("## Holding %d Rollouts\n\n%d Rollouts at rest (pod ratio, no replicas: the controller caches each Rollout\n", h.Rollouts, h.Rollouts)
		p("and its ReplicaSet, never pods), one controller at its shipped settings; then %d finished\n", h.FinishedRuns)
		p("AnalysisRuns of them. CPU at rest is the controller's CPU time over %.0f s, once all is settled.\n\n", h.IdleWindowSeconds)
		p("| measure | value | target |\n| --- | --- | --- |\n")
		p("| peak RSS | %.0f MiB | < 1 GiB %s |\n", h.PeakRSSMiB, verdict(h.PeakRSSMiB < 1024))
		p("| RSS at rest | %.0f MiB (%.0f MiB per 1,000 Rollouts) | |\n", h.RSSMiB, 1000*h.RSSMiB/float64(h.Rollouts))
		p("| CPU at rest | %.4f cores | < 0.05 %s |\n", h.IdleCores, verdict(h.IdleCores < 0.05))
		p("| CPU at rest with %d finished AnalysisRuns | %.4f cores | within 0.01 cores of that %s |\n", h.FinishedRuns, h.IdleCoresWithRuns, verdict(h.IdleCoresWithRuns < h.IdleCores+0.01))
		p("| RSS at rest with them | %.0f MiB | |\n", h.RSSMiBWithRuns)
		p("| (creating the %d Rollouts until all settled) | %.0f s | |\n\n", h.Rollouts, h.CreateWallSeconds)
	}
	if s := r.Soak; s != nil {
		p("## Soak\n\n%d Rollouts of 1 replica (SMI) cycling for %.0f minutes, one controller: each, once its\n", s.Rollouts, s.Seconds/60)
		p("canary is promoted, gets a new image (%d canaries in all). Growth compares the mean of the last\n", s.Canaries)
		p("five minutes with that of the first five after a warm-up of %.1f minutes: until every Rollout had run\n", s.warm()/60)
		p("%d canaries, and so kept its full revision history (10 old ReplicaSets: the ReplicaSets held stop\n", historyCanaries)
		p("growing), and not less than the first sixth of the run. NOTES.md reads the result.\n\n")
		p("| measure | growth | target |\n| --- | --- | --- |\n")
		p("| resident memory | %+.1f%% | < 5%% %s |\n", 100*s.RSSGrowth, verdict(s.RSSGrowth < 0.05))
		if s.HeapGrowth != 0 {
			p("| (Go heap in use, garbage included) | %+.1f%% | |\n", 100*s.HeapGrowth)
		}
		p("| goroutines | %+.1f%% | < 5%% %s |\n", 100*s.GoroutineGrowth, verdict(s.GoroutineGrowth < 0.05))
		if i := slices.IndexFunc(s.Samples, func(x SoakSample) bool { return x.Seconds >= s.warm() }); i >= 0 && s.Samples[i].ReplicaSets > 0 {
			p("| (ReplicaSets held: at the start, the warm-up's end, the end) | %d, %d, %d | |\n",
				s.Samples[0].ReplicaSets, s.Samples[i].ReplicaSets, s.Samples[len(s.Samples)-1].ReplicaSets)
		}
		p("\n![the controller's resident memory and goroutines over the soak](soak.svg)\n\n")
	}
	if s := r.Sharded; s != nil {
		p("## Shards\n\n%d Rollouts of 1 replica (SMI), given a new image eight at a time, each going through one\n", s.Rollouts)
		p("weighted step to promotion, on %d replicas run with `--shards %d` (`--concurrency %d` each). When\n", len(s.Replicas), s.Shards, s.Concurrency)
		p("%d were promoted, one replica was killed (SIGKILL).\n\n", s.SettledAtKill)
		p("| measure | value | target |\n| --- | --- | --- |\n")
		p("| wall time, new image to all promoted | %.1f s | |\n", s.WallSeconds)
		p("| kill → its shard held by another replica | %.1f s | < 20 s %s |\n\n", s.HandoverSeconds, verdict(s.HandoverSeconds < 20))
		p("| replica | shards at start → end | share of the writes | CPU | peak RSS |\n| --- | --- | --- | --- | --- |\n")
		for i, r := range s.Replicas {
			name := fmt.Sprint(i + 1)
			if r.Killed {
				name += " (killed)"
			}
			p("| %s | %d → %d | %.0f%% | %.1f s | %.0f MiB |\n", name, r.ShardsAtStart, r.ShardsAtEnd, 100*r.WriteShare, r.CPUSeconds, r.PeakRSSMiB)
		}
		p("\n")
	}
	if a := r.Analysis; a != nil {
		p("## Analysis load\n\n%d AnalysisRuns measuring at once on a real Prometheus, one query every %.0f s each,\n", a.Analyses, a.IntervalSeconds)
		p("watched for %.0f s.\n\n| measure | value |\n| --- | --- |\n", a.WindowSeconds)
		p("| Prometheus queries per second | %.1f |\n| measurements recorded | %.0f |\n", a.QueriesPerSecond, a.MeasurementsDone)
		p("| controller CPU per 100 active analyses | %.3f cores |\n\n", a.CPUCoresPer100)
	}
	if len(r.Safety) > 0 {
		safetyTable(p, r.Safety)
	}
	b.WriteString(notes)
	return b.String()
}

// scaleTable renders the figures that say how Ramp scales, each with its
// target and, where one exists, the floor it is measured against; the
// sections below give the detail.
func scaleTable(p func(string, ...any), r Report) {
	type row struct{ figure, value, target, floor, verdict string }
	var rows []row
	if len(r.RollbackFloor) > 0 {
		worst, worstShift, floor := 0.0, 0.0, ""
		for router, f := range r.RollbackFloor {
			if f.P50Ms == 0 {
				continue
			}
			worst = max(worst, r.Rollback[router].P50Ms/f.P50Ms)
			worstShift = max(worstShift, r.Shift[router].P50Ms/f.P50Ms)
		}
		lo, hi := math.Inf(1), 0.0
		for _, f := range r.RollbackFloor {
			lo, hi = min(lo, f.P50Ms), max(hi, f.P50Ms)
		}
		floor = fmt.Sprintf("%s–%s p50 (a watch, one patch)", ms(lo), ms(hi))
		rows = append(rows,
			row{"abort → weight 0 seen, worst router", fmt.Sprintf("%.2f × floor", worst), "≤ 1.3 × floor", floor, verdict(worst <= 1.3)},
			row{"promote → next weight seen, worst router", fmt.Sprintf("%.2f × floor", worstShift), "≤ 1.3 × floor", floor, verdict(worstShift <= 1.3)})
	}
	if s := r.Scale; s != nil {
		rows = append(rows,
			row{fmt.Sprintf("API writes per Rollout per step (%d Rollouts)", s.Rollouts), fmt.Sprintf("%.2f", s.WritesPerStep), "≤ 3", "2 (a weight, the status)", verdict(s.WritesPerStep <= 3)},
			row{fmt.Sprintf("reconcile p99 (%d Rollouts)", s.Rollouts), ms(s.ReconcileP99Ms), "< 100 ms", "", verdict(s.ReconcileP99Ms < 100)},
			row{fmt.Sprintf("peak RSS, %d Rollouts progressing", s.Rollouts), fmt.Sprintf("%.0f MiB", s.PeakRSSMiB), "< 300 MiB", "", verdict(s.PeakRSSMiB < 300)})
	}
	if h := r.Hold; h != nil {
		rows = append(rows,
			row{fmt.Sprintf("peak RSS, %d Rollouts held", h.Rollouts), fmt.Sprintf("%.0f MiB", h.PeakRSSMiB), "< 1 GiB", "", verdict(h.PeakRSSMiB < 1024)},
			row{fmt.Sprintf("CPU at rest, %d Rollouts held", h.Rollouts), fmt.Sprintf("%.4f cores", h.IdleCores), "< 0.05 cores", "", verdict(h.IdleCores < 0.05)},
			row{fmt.Sprintf("… and %d finished AnalysisRuns", h.FinishedRuns), fmt.Sprintf("%+.4f cores", h.IdleCoresWithRuns-h.IdleCores), "none measurable (< 0.01)", "", verdict(h.IdleCoresWithRuns < h.IdleCores+0.01)})
	}
	if s := r.Soak; s != nil {
		rows = append(rows,
			row{fmt.Sprintf("RSS growth over a %.0f-minute soak", s.Seconds/60), fmt.Sprintf("%+.1f%%", 100*s.RSSGrowth), "< 5%", "", verdict(s.RSSGrowth < 0.05)},
			row{"goroutine growth over the soak", fmt.Sprintf("%+.1f%%", 100*s.GoroutineGrowth), "< 5%", "", verdict(s.GoroutineGrowth < 0.05)})
	}
	if s := r.Sharded; s != nil {
		rows = append(rows, row{fmt.Sprintf("a killed replica's shard taken over (%d shards, %d Rollouts)", s.Shards, s.Rollouts),
			fmt.Sprintf("%.1f s", s.HandoverSeconds), "< 20 s", "15–17 s (Lease duration + a retry)", verdict(s.HandoverSeconds < 20)})
	}
	if len(rows) == 0 {
		return
	}
	p("## At scale\n\nEach figure, its target and, where there is one, the floor it stands on; the sections below\n")
	p("give the detail and bench/NOTES.md (at the end) the reasons.\n\n")
	p("| figure | measured | target | floor | |\n| --- | --- | --- | --- | --- |\n")
	for _, x := range rows {
		p("| %s | %s | %s | %s | %s |\n", x.figure, x.value, x.target, x.floor, x.verdict)
	}
	p("\n")
}

// safetyTable renders the zero-failed-requests matrix.
func safetyTable(p func(string, ...any), rows []SafetyCell) {
	p("## Zero failed requests\n\n")
	p("One Rollout of 4 pods per row taken through a promotion, an abort at 25%%, a retry, a canary\n")
	p("replaced in flight and a rollback by failed analysis (a version failing half its requests on\n")
	p("purpose), under a constant load sent through three proxies that apply each change of routes\n")
	p("and endpoints late (lag + up to jitter, drawn per proxy and change) and never retry. Pods stop\n")
	p("answering the moment they are deleted, but with pod ratio, where the docs ask for a preStop\n")
	p("sleep and the app sleeps as long as Ramp's delays. Ramp's delays (abortScaleDownDelaySeconds,\n")
	p("endpointPropagationSeconds, scaleDownDelaySeconds) are a second over the latest lag. *Failed*\n")
	p("counts every request that got no answer or an error but those failed on purpose; the rows\n")
	p("with delays 0 are the negative control and must fail. The cost of the safety: from the\n")
	p("abort's decision to the weight 0 seen (unchanged by it), and to the canary's last pod gone.\n\n")
	p("| router | lag | delays | requests | failed | on purpose | abort → weight 0 | abort → pods gone | bad version → pods gone |\n")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, c := range rows {
		router := c.Router
		if c.Reported {
			router += " (reported)"
		}
		delays := fmt.Sprintf("%.0f s", c.DelaySeconds)
		if c.DelaysOff {
			delays = "**0 (control)**"
		}
		failed := fmt.Sprint(c.Failed)
		if c.Failed > 0 && !c.DelaysOff {
			failed = "**" + failed + "**"
		}
		p("| %s | %s + %s | %s | %d at %.0f/s | %s | %d | %s | %s | %s |\n", router,
			seconds(c.LagMs), seconds(c.JitterMs), delays, c.Requests, c.Rate, failed, c.Injected,
			ms(c.AbortToZeroMs), seconds(int64(c.AbortPodsGoneMs)), seconds(int64(c.AnalysisPodsGoneMs)))
	}
	p("\n")
}

func seconds(ms int64) string {
	if ms == 0 {
		return "0"
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func verdict(met bool) string {
	if met {
		return "(met)"
	}
	return "(**missed**)"
}

func verbs(m map[string]float64) string {
	var parts []string
	for _, v := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if m[v] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", v, m[v]))
		}
	}
	return strings.Join(parts, ", ")
}
