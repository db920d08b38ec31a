package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/analysis/providers"
	"github.com/rampcd/ramp/internal/outbound"
	"github.com/rampcd/ramp/internal/traffic/routers"
)

func newCmdAnalysis(o *Options) *cobra.Command {
	cmd := &cobra.Command{Use: "analysis", Short: "Work with analysis templates"}
	cmd.AddCommand(newCmdAnalysisTry(o))
	return cmd
}

// tryOptions are the flags of `ramp analysis try`.
type tryOptions struct {
	file    string
	cluster bool
	args    []string
	rollout string
	metrics []string
}

func newCmdAnalysisTry(o *Options) *cobra.Command {
	var t tryOptions
	cmd := &cobra.Command{
		Use:   "try [TEMPLATE]",
		Short: "Measure a template's metrics once and print each value and verdict",
		Long: `Measure every metric of an analysis template once, from this machine, and
print the value and the verdict its conditions give: a dry run of the query
before a release depends on it. Nothing is written to the cluster but a job
metric's Job, run in the namespace and deleted once it ends.

The template is an AnalysisTemplate of the namespace, a ClusterAnalysisTemplate
(--cluster), or the one in a file (-f). Its arguments take their defaults,
then the values of --arg. With --rollout, the query sees that Rollout as a run
of it would ({{.Rollout}}, the stable and canary revisions, Services and pods);
without, those values are empty. Secrets the metric names (headers, tokens,
keys) are read from the namespace with your credentials and never printed.

The exit status is 0 when every metric passed, 1 otherwise.`,
		Example: `  ramp analysis try error-rate --arg service=web --rollout web
  ramp analysis try -f templates/latency.yaml --arg threshold=0.3
  ramp analysis try success-rate --cluster --metric success-rate`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return o.tryAnalysis(cmd.Context(), name, t)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&t.file, "filename", "f", "", "read the template from this file (YAML or JSON) instead of the cluster")
	f.BoolVar(&t.cluster, "cluster", false, "TEMPLATE is a ClusterAnalysisTemplate")
	f.StringArrayVar(&t.args, "arg", nil, "an argument's value, NAME=VALUE (repeatable)")
	f.StringVar(&t.rollout, "rollout", "", "measure as a run of this Rollout would (its revisions, Services and pods)")
	f.StringArrayVar(&t.metrics, "metric", nil, "measure only this metric (repeatable)")
	return cmd
}

// tryAnalysis measures a template's metrics once and prints a table.
func (o *Options) tryAnalysis(ctx context.Context, name string, t tryOptions) error {
	c, ns, err := o.Connect()
	if err != nil {
		return err
	}
	tmpl, err := o.loadTemplate(ctx, c, ns, name, t)
	if err != nil {
		return err
	}
	given, err := parseArgs(t.args)
	if err != nil {
		return err
	}
	spec, err := analysis.Assemble([]analysis.Template{tmpl}, given)
	if err != nil {
		return errors.New(strings.Replace(err.Error(), "give it in the step's args", "give it with --arg NAME=VALUE", 1))
	}
	if t.rollout != "" {
		ro := &rampv1.Rollout{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: t.rollout}, ro); err != nil {
			return notFound(err, "Rollout", ns, t.rollout)
		}
		spec.Context = rolloutContext(ro)
	}
	metrics, err := pickMetrics(spec.Metrics, t.metrics)
	if err != nil {
		return err
	}
	vars := analysis.NewVars(ns, &spec)
	env := analysis.Env{Secrets: outbound.SecretReader{Client: c, Namespace: ns}, Client: c}
	w := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "METRIC\tPROVIDER\tVALUE\tVERDICT\tMESSAGE")
	failed := 0
	for i := range metrics {
		m := &metrics[i]
		ms := measureOnce(ctx, m, env, vars, o.Now)
		if ms.Phase != rampv1.AnalysisSuccessful {
			failed++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.Name, providers.Name(m), orDash(ms.Value), ms.Phase, orDash(oneLine(ms.Message)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d metrics did not pass", failed, len(metrics))
	}
	return nil
}

// measureOnce takes one measurement of m, judged by its conditions; a
// condition that does not compile fails it, as in a run.
func measureOnce(ctx context.Context, m *rampv1.Metric, env analysis.Env, vars analysis.Vars, now func() time.Time) rampv1.Measurement {
	conds, err := analysis.Compile(m)
	if err != nil {
		return rampv1.Measurement{Phase: rampv1.AnalysisFailed, Message: err.Error()}
	}
	return analysis.Take(ctx, providers.For(m, env), m, conds, vars, now)
}

// loadTemplate reads the template from -f, or from the cluster.
func (o *Options) loadTemplate(ctx context.Context, c client.Client, ns, name string, t tryOptions) (analysis.Template, error) {
	if t.file != "" {
		return templateFromFile(t.file, name)
	}
	if name == "" {
		return analysis.Template{}, errors.New("name a template, or give one with -f FILE")
	}
	if t.cluster {
		ct := &rampv1.ClusterAnalysisTemplate{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, ct); err != nil {
			return analysis.Template{}, fmt.Errorf("ClusterAnalysisTemplate %q: %w", name, err)
		}
		return analysis.Template{Name: name, Spec: &ct.Spec}, nil
	}
	at := &rampv1.AnalysisTemplate{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, at); err != nil {
		return analysis.Template{}, notFound(err, "AnalysisTemplate", ns, name)
	}
	return analysis.Template{Name: name, Spec: &at.Spec}, nil
}

// templateFromFile finds an AnalysisTemplate or ClusterAnalysisTemplate in
// a file: the one named name, or the only one.
func templateFromFile(path, name string) (analysis.Template, error) {
	docs, err := readDocuments([]string{path})
	if err != nil {
		return analysis.Template{}, err
	}
	var found []analysis.Template
	for _, d := range docs {
		if d.Object == nil || (name != "" && d.Object.GetName() != name) {
			continue
		}
		spec := &rampv1.AnalysisTemplateSpec{}
		switch d.Object.GetKind() {
		case "AnalysisTemplate", "ClusterAnalysisTemplate":
			raw, _ := d.Object.Object["spec"].(map[string]any)
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(raw, spec, true); err != nil {
				return analysis.Template{}, fmt.Errorf("%s: %w", d.where(), err)
			}
			found = append(found, analysis.Template{Name: d.Object.GetName(), Spec: spec})
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && name != "":
		return analysis.Template{}, fmt.Errorf("%s holds no analysis template named %q", path, name)
	case len(found) == 0:
		return analysis.Template{}, fmt.Errorf("%s holds no AnalysisTemplate or ClusterAnalysisTemplate", path)
	}
	return analysis.Template{}, fmt.Errorf("%s holds %d analysis templates; name the one to try", path, len(found))
}

// parseArgs reads --arg NAME=VALUE flags.
func parseArgs(flags []string) ([]rampv1.Argument, error) {
	var out []rampv1.Argument
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--arg %q: write NAME=VALUE, e.g. --arg service=web", f)
		}
		out = append(out, rampv1.Argument{Name: name, Value: &value})
	}
	return out, nil
}

// pickMetrics keeps the metrics --metric names, all when none.
func pickMetrics(all []rampv1.Metric, names []string) ([]rampv1.Metric, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []rampv1.Metric
	for _, n := range names {
		i := slices.IndexFunc(all, func(m rampv1.Metric) bool { return m.Name == n })
		if i < 0 {
			have := make([]string, len(all))
			for j := range all {
				have[j] = all[j].Name
			}
			return nil, fmt.Errorf("--metric %q: the template has %s", n, strings.Join(have, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// rolloutContext is what a run of ro would see now: its revisions (the
// stable one as the canary when none is in flight) and its Services as
// its router names them.
func rolloutContext(ro *rampv1.Rollout) rampv1.AnalysisContext {
	ro = ro.DeepCopy()
	ro.Normalize()
	ac := rampv1.AnalysisContext{Rollout: ro.Name, StableRevision: ro.Status.StableRevision, CanaryRevision: ro.Status.CanaryRevision}
	if ac.CanaryRevision == "" {
		ac.CanaryRevision = ac.StableRevision
	}
	ac.StableService, ac.CanaryService = routers.For(ro).AnalysisServices(ro)
	return ac
}

// orDash shows an empty cell as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a message on its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
