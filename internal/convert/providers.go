package convert

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// provider converts a metric's provider; those without a counterpart
// (kayenta, wavefront, skywalking, plugins, and newRelic and influxdb,
// whose settings live in a profile Secret) are refused by the table.
func provider(c *converter, n *node, m *rampv1.Metric) rampv1.MetricProvider {
	var p rampv1.MetricProvider
	if x := n.obj("prometheus"); x != nil {
		p.Prometheus = prometheus(x)
		x.done()
	}
	if x := n.obj("web"); x != nil {
		p.Web = web(x)
		x.done()
	}
	if x := n.obj("datadog"); x != nil {
		p.Datadog = datadog(x, m)
		x.done()
	}
	if x := n.obj("graphite"); x != nil {
		p.Graphite = &rampv1.GraphiteMetric{}
		p.Graphite.Address = address(x, "address")
		if q, ok := x.str("query"); ok {
			p.Graphite.Target = templated(x, "query", q)
		}
		x.done()
	}
	if x := n.obj("cloudWatch"); x != nil {
		p.CloudWatch = cloudWatch(x, m)
		x.done()
	}
	if x := n.obj("job"); x != nil {
		p.Job = job(x)
		x.done()
	}
	return p
}

// address takes a provider's address, which Ramp requires.
func address(n *node, key string) string {
	s, ok := n.str(key)
	if !ok || s == "" {
		n.problem(key, "required: Ramp's provider takes the server's address in the template")
		return ""
	}
	return templated(n, key, s)
}

func headers(n *node) []rampv1.Header {
	var out []rampv1.Header
	for _, h := range n.list("headers") {
		name, _ := h.str("key")
		value, _ := h.str("value")
		out = append(out, rampv1.Header{Name: name, Value: ptr.To(literal(h, "value", value))})
		h.done()
	}
	return out
}

func prometheus(n *node) *rampv1.PrometheusMetric {
	p := &rampv1.PrometheusMetric{Address: address(n, "address")}
	if q, ok := n.str("query"); ok {
		p.Query = templated(n, "query", q)
	}
	if d, ok := n.duration("timeout", true); ok {
		p.Timeout = &metav1.Duration{Duration: *d}
	}
	if v, ok := n.boolean("insecure"); ok && v {
		p.TLS = &rampv1.TLSConfig{InsecureSkipVerify: true}
	}
	p.Headers = headers(n)
	// authentication and rangeQuery are refused by the table; an empty
	// authentication is what Go's encoder writes for none.
	if a, ok := n.m["authentication"].(map[string]any); ok && len(a) == 0 {
		n.take("authentication")
	}
	return p
}

func web(n *node) *rampv1.WebMetric {
	w := &rampv1.WebMetric{JSONPath: "{$}"}
	if u, ok := n.str("url"); ok {
		w.URL = templated(n, "url", u)
	}
	if j, ok := n.str("jsonPath"); ok && j != "" {
		w.JSONPath = literal(n, "jsonPath", j)
	}
	if m, ok := n.str("method"); ok && m != "" && m != "GET" {
		n.problem("method", "%s: Ramp's web metric is a GET; serve the value at a URL, or use a job metric", m)
	}
	if v, ok := n.integer("timeoutSeconds"); ok && v > 0 {
		w.Timeout = &metav1.Duration{Duration: time.Duration(v) * time.Second}
	}
	if v, ok := n.boolean("insecure"); ok && v {
		w.TLS = &rampv1.TLSConfig{InsecureSkipVerify: true}
	}
	w.Headers = headers(n)
	if a, ok := n.m["authentication"].(map[string]any); ok && len(a) == 0 {
		n.take("authentication")
	}
	return w
}

var datadogQueryName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// argoWindow is the query window of Argo's datadog and cloudWatch
// metrics when they give none.
const argoWindow = 5 * time.Minute

func datadog(n *node, m *rampv1.Metric) *rampv1.DatadogMetric {
	d := &rampv1.DatadogMetric{}
	if q, ok := n.str("query"); ok {
		d.Query = templated(n, "query", q)
	}
	if qs := n.strMap("queries"); len(qs) > 0 {
		names := make([]string, 0, len(qs))
		for k := range qs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !datadogQueryName.MatchString(k) {
				n.problem("queries", "%q: Ramp's query names are lower-case letters, digits and _; rename it here and in formula", k)
			}
			d.Queries = append(d.Queries, rampv1.DatadogQuery{Name: k, Query: templated(n, "queries", qs[k])})
		}
	}
	d.Formula, _ = n.str("formula")
	d.Aggregator, _ = n.str("aggregator")
	d.APIVersion, _ = n.str("apiVersion")
	if d.APIVersion == "" {
		// Argo's default is v1, which takes no formula.
		d.APIVersion = "v1"
		if len(d.Queries) > 0 {
			d.APIVersion = "v2"
		}
	}
	if t, ok := n.duration("requestTimeout", false); ok {
		d.Timeout = &metav1.Duration{Duration: *t}
	}
	window(n, "interval", m)
	if s := n.obj("secretRef"); s != nil {
		name, _ := s.str("name")
		if ns, _ := s.boolean("namespaced"); !ns {
			s.problem("namespaced", "false: Argo reads the Secret in its controller's namespace; Ramp reads it in the Rollout's: copy it there and set namespaced: true")
		}
		d.APIKey = rampv1.SecretKeyRef{Name: name, Key: "api-key"}
		d.ApplicationKey = rampv1.SecretKeyRef{Name: name, Key: "app-key"}
		s.done()
	} else {
		n.problem("secretRef", "required: Argo reads the keys from the Secret datadog in its controller's namespace, Ramp from a Secret in the Rollout's: copy it there and set secretRef: {name: datadog, namespaced: true}")
	}
	return d
}

// window takes the query window of a provider that has its own, which in
// Ramp is the metric's interval.
func window(n *node, key string, m *rampv1.Metric) {
	w := argoWindow
	if d, ok := n.duration(key, false); ok {
		w = *d
	}
	if m.Interval == nil {
		// Measured once (count 1): the interval is only the window.
		m.Interval = &metav1.Duration{Duration: w}
		return
	}
	if m.Interval.Duration != w {
		n.problem(key, "%s: Ramp queries over the metric's interval (%s); make them equal", w, m.Interval.Duration)
	}
}

func cloudWatch(n *node, m *rampv1.Metric) *rampv1.CloudWatchMetric {
	cw := &rampv1.CloudWatchMetric{}
	window(n, "interval", m)
	for _, q := range n.list("metricDataQueries") {
		out := rampv1.CloudWatchQuery{}
		out.ID, _ = q.str("id")
		if e, ok := q.str("expression"); ok {
			out.Expression = templated(q, "expression", e)
		}
		out.Label, _ = q.str("label")
		if v, ok := q.boolean("returnData"); ok {
			out.ReturnData = ptr.To(v)
		}
		if ms := q.obj("metricStat"); ms != nil {
			stat := &rampv1.CloudWatchMetricStat{}
			if mt := ms.obj("metric"); mt != nil {
				stat.Namespace, _ = mt.str("namespace")
				stat.MetricName, _ = mt.str("metricName")
				for _, d := range mt.list("dimensions") {
					dim := rampv1.CloudWatchDimension{}
					dim.Name, _ = d.str("name")
					if v, ok := d.str("value"); ok {
						dim.Value = templated(d, "value", v)
					}
					stat.Dimensions = append(stat.Dimensions, dim)
					d.done()
				}
				mt.done()
			}
			stat.Period, _ = ms.int32("period", 1)
			stat.Stat, _ = ms.str("stat")
			stat.Unit, _ = ms.str("unit")
			out.MetricStat = stat
			ms.done()
		}
		cw.Queries = append(cw.Queries, out)
		q.done()
	}
	return cw
}

// job converts a job metric: Ramp runs a Job of one container, with a few
// of the Job's settings. The rule table treats the Job's spec as one
// field, so every other field of it is refused here.
func job(n *node) *rampv1.JobHook {
	spec := n.obj("spec")
	if spec == nil {
		n.problem("spec", "required")
		return nil
	}
	j := &rampv1.JobHook{}
	raw, _ := json.Marshal(spec.m)
	if strings.Contains(string(raw), "{{") {
		spec.problem("", "uses {{...}}: Ramp does not template a Job; it gives the container the rollout's values as environment variables (RAMP_ROLLOUT, RAMP_CANARY_REVISION, ...)")
	}
	j.BackoffLimit, _ = spec.int32("backoffLimit", 0)
	if v, ok := spec.integer("activeDeadlineSeconds"); ok {
		j.Timeout = &metav1.Duration{Duration: time.Duration(v) * time.Second}
	}
	if t := spec.obj("template"); t != nil {
		if md := t.obj("metadata"); md != nil {
			j.Labels, j.Annotations = md.strMap("labels"), md.strMap("annotations")
			jobRest(md)
		}
		if ps := t.obj("spec"); ps != nil {
			j.ServiceAccountName, _ = ps.str("serviceAccountName")
			if rp, ok := ps.str("restartPolicy"); ok && rp != "Never" && rp != "OnFailure" {
				ps.problem("restartPolicy", "%s: a Job's pod restarts Never or OnFailure", rp)
			}
			containers, p, _ := ps.items("containers")
			if len(containers) != 1 {
				ps.c.problem(p, fmt.Sprintf("%d containers: Ramp's job runs one", len(containers)))
			} else if err := runtime.DefaultUnstructuredConverter.FromUnstructured(asMap(containers[0]), &j.Container); err != nil {
				ps.c.problem(p+"[0]", "not a container: "+err.Error())
			}
			jobRest(ps)
		}
		jobRest(t)
	}
	jobRest(spec)
	return j
}

// jobRest refuses what is left of a Job's spec.
func jobRest(n *node) {
	keys := make([]string, 0, len(n.m))
	for k := range n.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.refuse(k, "Ramp's job takes a container, serviceAccountName, restartPolicy, backoffLimit, activeDeadlineSeconds (its timeout) and the pod's labels and annotations; move this setting into the container, or remove it")
	}
}
