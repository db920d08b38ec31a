package bench

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampcd/ramp/test/localcluster"
)

var update = flag.Bool("update", false, "rewrite bench/REPORT.md from results.json and NOTES.md")

// TestReportIsCurrent: the committed REPORT.md is what results.json and
// NOTES.md make (go test ./test/bench -run TestReportIsCurrent -update
// rewrites it after editing the notes).
func TestReportIsCurrent(t *testing.T) {
	repo, err := localcluster.RepoDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repo, "bench")
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "NOTES.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := Markdown(r, string(notes))
	if *update {
		if err := os.WriteFile(filepath.Join(dir, "REPORT.md"), []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("bench/REPORT.md is not what results.json and NOTES.md make: run go test ./test/bench -run TestReportIsCurrent -update")
	}
	if r.Soak != nil {
		svg := filepath.Join(dir, "soak.svg")
		if *update {
			if err := os.WriteFile(svg, []byte(SoakSVG(r.Soak)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := os.ReadFile(svg); err != nil || string(got) != SoakSVG(r.Soak) {
			t.Errorf("bench/soak.svg is not what results.json makes (%v): run go test ./test/bench -run TestReportIsCurrent -update", err)
		}
	}
}

// TestSoakGrowth: flat after the warm-up is 0%, whatever the warm-up did;
// a steady climb shows as the climb between the two windows.
func TestSoakGrowth(t *testing.T) {
	soak := func(rss func(s float64) float64) *Soak {
		s := &Soak{Seconds: 1800}
		for at := 0.0; at < 1800; at += 10 {
			s.Samples = append(s.Samples, SoakSample{Seconds: at, RSSMiB: rss(at), Goroutines: 100})
		}
		return s
	}
	for _, c := range []struct {
		name string
		rss  func(s float64) float64
		want float64
	}{
		{"flat", func(float64) float64 { return 200 }, 0},
		{"warm-up, then flat", func(s float64) float64 { return min(200, 100+s) }, 0},
		{"climbing 1 MiB a minute from 200", func(s float64) float64 { return 200 + s/60 }, 20.0 / 210},
		{"warm-up longer than a sixth", func(s float64) float64 { return min(200, 100+s/6) }, 0},
	} {
		s := soak(c.rss)
		if c.name == "warm-up longer than a sixth" {
			s.WarmSeconds = 600 // 100 + 600/6 = 200
		}
		rss := s.growth(func(x SoakSample) float64 { return x.RSSMiB })
		gor := s.growth(func(x SoakSample) float64 { return x.Goroutines })
		if d := rss - c.want; d > 0.01 || d < -0.01 || gor != 0 {
			t.Errorf("%s: growth %.3f (want %.3f), goroutines %.3f", c.name, rss, c.want, gor)
		}
	}
}
