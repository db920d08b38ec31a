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
}
