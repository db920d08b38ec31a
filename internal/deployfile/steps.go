package deployfile

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/analysis"
	"github.com/rampcd/ramp/internal/outbound"
)

// analysis turns an analysis step into an AnalysisTemplate of its queries
// (one metric each) and a step that runs it with the step's context as
// arguments.
func (t *translator) analysis(field string, a *AnalysisStep, ro *rampv1.Rollout, index int, scope varScope) (rampv1.Step, *rampv1.AnalysisTemplate) {
	if a.RollBackMode == "manual" || a.RollForwardMode == "manual" {
		t.fail(field, "manual rollBackMode and rollForwardMode are not supported: a failed analysis rolls back, a passed one goes on")
	}
	if a.LookbackMethod != "" {
		t.fail(field+".lookbackMethod", "not supported: write the window in the query, e.g. [5m]")
	}
	interval, err := duration(Duration{Duration: a.Interval, Unit: a.Units})
	if err != nil || interval <= 0 {
		t.fail(field, "interval and units are required (units: seconds, minutes or hours)")
	}
	if a.NumberOfJudgmentRuns < 1 {
		t.fail(field+".numberOfJudgmentRuns", "at least 1")
	}
	if len(a.Queries) == 0 {
		t.fail(field+".queries", "at least one query")
	}
	for _, k := range slices.Sorted(maps.Keys(a.Context)) {
		if !argName.MatchString(k) {
			t.fail(field+".context."+k, "an analysis context key must be letters, digits and _ (it becomes an argument of the template)")
		}
	}
	scope.context, scope.contextArgs, scope.escape = a.Context, true, analysis.PromQLEscape
	scope.literal = maps.Clone(scope.literal)
	scope.literal["armory.intervalSeconds"] = strconv.Itoa(int(interval.Seconds()))
	scope.literal["armory.intervalMillis"] = strconv.Itoa(int(interval.Milliseconds()))
	scope.literal["armory.promQlStepInterval"] = interval.String()
	tmpl := &rampv1.AnalysisTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: rampv1.GroupVersion.String(), Kind: "AnalysisTemplate"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-step-%d", ro.Name, index), Namespace: ro.Namespace},
	}
	for _, k := range slices.Sorted(maps.Keys(a.Context)) {
		tmpl.Spec.Args = append(tmpl.Spec.Args, rampv1.Argument{Name: k, Value: ptr.To(a.Context[k])})
	}
	for i, name := range a.Queries {
		qf := fmt.Sprintf("%s.queries[%d]", field, i)
		q := t.query(name)
		if q == nil {
			t.fail(qf, "%q is not in analysis.queries", name)
			continue
		}
		m, err := t.metric(q, a, interval, scope)
		if err != nil {
			t.fail(qf, "query %s: %v", name, err)
			continue
		}
		tmpl.Spec.Metrics = append(tmpl.Spec.Metrics, m)
	}
	step := rampv1.Step{Analysis: &rampv1.AnalysisStep{Templates: []rampv1.TemplateRef{{TemplateName: tmpl.Name}}}}
	return step, tmpl
}

func (t *translator) query(name string) *Query {
	if t.f.Analysis == nil {
		return nil
	}
	for i := range t.f.Analysis.Queries {
		if t.f.Analysis.Queries[i].Name == name {
			return &t.f.Analysis.Queries[i]
		}
	}
	return nil
}

// metric is one query as a Prometheus metric judged by its limits at every
// interval, numberOfJudgmentRuns times. (CD-as-a-Service averaged the runs;
// Ramp judges each, so one bad run fails the step.)
func (t *translator) metric(q *Query, a *AnalysisStep, interval time.Duration, scope varScope) (rampv1.Metric, error) {
	provider := a.MetricProviderName
	if provider == "" {
		provider = q.MetricProviderName
	}
	if provider == "" && t.f.Analysis != nil {
		provider = t.f.Analysis.DefaultMetricProviderName
	}
	if provider == "" {
		return rampv1.Metric{}, fmt.Errorf("no metric provider: set the step's metricProviderName, the query's, or analysis.defaultMetricProviderName")
	}
	address, ok := t.opts.MetricProviders[provider]
	if !ok {
		return rampv1.Metric{}, fmt.Errorf("metric provider %q has no address: give it with --metric-provider %s=http://prometheus:9090", provider, provider)
	}
	if q.UpperLimit == nil && q.LowerLimit == nil {
		return rampv1.Metric{}, fmt.Errorf("upperLimit or lowerLimit is required")
	}
	cond := limits("result[0]", q)
	// A query gives one value, as a scalar or a one-sample vector; a vector
	// of several fails, as it did in CD-as-a-Service.
	cond = fmt.Sprintf("type(result) == list ? size(result) == 1 && %s : %s", cond, limits("result", q))
	query, err := scope.translate(q.QueryTemplate)
	if err != nil {
		return rampv1.Metric{}, err
	}
	return rampv1.Metric{
		Name: q.Name, Interval: &metav1.Duration{Duration: interval}, Count: ptr.To(int32(a.NumberOfJudgmentRuns)),
		SuccessCondition: cond,
		Provider:         rampv1.MetricProvider{Prometheus: &rampv1.PrometheusMetric{Address: address, Query: query}},
	}, nil
}

// webhook turns runWebhook into a webhook step; the webhook waits for its
// callback unless disableCallback.
func (t *translator) webhook(field string, r *RunWebhook, scope varScope) rampv1.Step {
	i := slices.IndexFunc(t.f.Webhooks, func(w Webhook) bool { return w.Name == r.Name })
	if i < 0 {
		t.fail(field+".name", "%q is not in webhooks", r.Name)
		return rampv1.Step{}
	}
	w := t.f.Webhooks[i]
	wf := fmt.Sprintf("webhooks[%d]", i)
	if w.NetworkMode == "remoteNetworkAgent" || w.AgentIdentifier != "" {
		t.fail(wf+".networkMode", "remoteNetworkAgent is not supported: the controller calls the URL directly")
	}
	scope.context = r.Context
	h := &rampv1.WebhookHook{Method: w.Method, Retries: ptr.To(int32(w.RetryCount))}
	var err error
	urlScope, bodyScope, headerScope := scope, scope, scope
	// Escaped as Ramp escapes the values it renders in the same places.
	urlScope.escape, bodyScope.escape, headerScope.literalOnly = outbound.URLEscape, outbound.JSONEscape, true
	if h.URL, err = urlScope.translate(w.URITemplate); err != nil {
		t.fail(wf+".uriTemplate", "%v", err)
	}
	if w.BodyTemplate != nil {
		if h.Body, err = bodyScope.translate(w.BodyTemplate.Inline); err != nil {
			t.fail(wf+".bodyTemplate.inline", "%v", err)
		}
	}
	for j, hd := range w.Headers {
		v, err := headerScope.translate(hd.Value)
		if err != nil {
			t.fail(fmt.Sprintf("%s.headers[%d].value", wf, j), "%v", err)
		}
		h.Headers = append(h.Headers, rampv1.Header{Name: hd.Key, Value: ptr.To(v)})
	}
	if !w.DisableCallback {
		h.Callback = &rampv1.CallbackSpec{Timeout: &metav1.Duration{Duration: 24 * time.Hour}}
	}
	return rampv1.Step{Webhook: h}
}

// limits is the CEL condition "v within the query's limits".
func limits(v string, q *Query) string {
	var parts []string
	if q.LowerLimit != nil {
		parts = append(parts, v+" >= "+celDouble(*q.LowerLimit))
	}
	if q.UpperLimit != nil {
		parts = append(parts, v+" <= "+celDouble(*q.UpperLimit))
	}
	return strings.Join(parts, " && ")
}

// celDouble writes f as a CEL double literal (5 would be an int).
func celDouble(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // not 0.5, 1e+21, NaN or Inf
		s += ".0"
	}
	return s
}

// argName is what an AnalysisTemplate argument may be called.
var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
