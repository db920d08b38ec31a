package convert

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/migrating.md's field tables from the rule tables")

// fieldTable renders a rule table as the Markdown table of
// docs/migrating.md.
func fieldTable(table map[string]Rule) string {
	paths := make([]string, 0, len(table))
	for p := range table {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	b.WriteString("| Argo field | Ramp | Notes |\n| --- | --- | --- |\n")
	for _, p := range paths {
		r := table[p]
		ramp, note := "`"+r.Ramp+"`", r.Note
		switch {
		case r.Refused != "":
			ramp, note = "**refused**", r.Refused
		case strings.HasPrefix(r.Ramp, "("):
			ramp = r.Ramp
		}
		b.WriteString("| `" + p + "` | " + ramp + " | " + strings.ReplaceAll(note, "|", "\\|") + " |\n")
	}
	return b.String()
}

// TestDocsListEveryField: docs/migrating.md's field tables are the rule
// tables (go test ./internal/convert -run TestDocs -update rewrites them).
func TestDocsListEveryField(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "migrating.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, section := range []struct {
		name  string
		table map[string]Rule
	}{{"Rollout", RolloutRules}, {"AnalysisTemplate", TemplateRules}} {
		begin, end := "<!-- fields:"+section.name+" -->\n", "<!-- end:"+section.name+" -->"
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("docs/migrating.md has no %q ... %q section", begin, end)
		}
		want := fieldTable(section.table)
		if got := doc[i+len(begin) : j]; got != want {
			if !*update {
				t.Errorf("docs/migrating.md's %s table differs from the rules; run go test ./internal/convert -run TestDocs -update", section.name)
				continue
			}
			doc = doc[:i+len(begin)] + want + doc[j:]
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
