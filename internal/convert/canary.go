package convert

import (
	"regexp"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// strategy converts spec.strategy: a canary or a blue/green one.
func strategy(c *converter, st *node, ro *rampv1.Rollout) {
	cn, bg := st.obj("canary"), st.obj("blueGreen")
	switch {
	case cn != nil && bg != nil:
		st.problem("", "sets both canary and blueGreen; keep one")
	case cn != nil:
		canary(c, cn, ro)
		cn.done()
	case bg != nil:
		blueGreen(c, bg, ro)
		bg.done()
	default:
		st.problem("", "needs canary or blueGreen")
	}
}

// routeName is the pattern of Ramp's header and mirror route names.
var routeName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func canary(c *converter, n *node, ro *rampv1.Rollout) {
	cs := &ro.Spec.Strategy.Canary
	canarySvc, _ := n.str("canaryService")
	stableSvc, _ := n.str("stableService")

	var routeSteps []string
	for _, s := range n.list("steps") {
		step, route := canaryStep(c, s)
		cs.Steps = append(cs.Steps, step)
		if route != "" {
			routeSteps = append(routeSteps, route)
		}
		s.done()
	}
	if len(cs.Steps) == 0 {
		// Argo promotes at once without steps; Ramp wants one.
		cs.Steps = []rampv1.Step{{SetWeight: ptr.To(rampv1.FullWeight)}}
	}

	// routed: the Argo Rollout has trafficRouting, converted or refused.
	_, routed := n.m["trafficRouting"]
	if tr := n.obj("trafficRouting"); tr != nil {
		cs.TrafficRouting = trafficRouting(c, tr, ro, routeSteps)
		tr.done()
	}

	switch {
	case canarySvc == "" && stableSvc == "", routed && cs.TrafficRouting == nil:
	case !routed:
		n.problem("canaryService", "Ramp's canary without trafficRouting shapes traffic by pod counts behind spec.service and keeps no canary or stable Service; remove canaryService and stableService, and set spec.service by hand after converting if clients need one")
	case cs.TrafficRouting.Istio != nil:
		n.problem("canaryService", "Ramp's Istio router sends traffic to the DestinationRule's subsets of spec.service and keeps no canary or stable Service; remove canaryService and stableService")
	default:
		cs.TrafficRouting.CanaryServiceName, cs.TrafficRouting.StableServiceName = canarySvc, stableSvc
	}

	if v, ok := n.take("maxSurge"); ok {
		cs.MaxSurge = intOrString(n, "maxSurge", v)
	}
	if v, ok := n.take("maxUnavailable"); ok {
		cs.MaxUnavailable = intOrString(n, "maxUnavailable", v)
	} else if !routed {
		// Argo's default; Ramp's is 0.
		cs.MaxUnavailable = ptr.To(intstr.FromString("25%"))
	}
	cs.ScaleDownDelaySeconds, _ = n.int32("scaleDownDelaySeconds", 0)
	if v, ok := n.int32("abortScaleDownDelaySeconds", 0); ok && cs.TrafficRouting != nil {
		switch {
		case *v == 0:
			n.problem("abortScaleDownDelaySeconds", "0: to Argo this keeps the aborted canary's pods for ever; Ramp always removes them, and 0 means at once. Give the delay Ramp should wait (up to 3600 seconds)")
		case *v > 3600:
			n.problem("abortScaleDownDelaySeconds", "%d: Ramp waits at most 3600 seconds", *v)
		}
		cs.AbortScaleDownDelaySeconds = v
	}
	if v, ok := n.boolean("dynamicStableScale"); ok && v {
		n.problem("dynamicStableScale", "true: Ramp's stable revision keeps all its pods until promotion, so that a rollback never waits for pods; remove it")
	}
	if v, ok := n.integer("minPodsPerReplicaSet"); ok && v != 1 {
		n.problem("minPodsPerReplicaSet", "%d: a Ramp canary with weight runs at least one pod, and no more unless its weight asks; remove it", v)
	}
	if a := n.obj("analysis"); a != nil {
		step := analysisStep(c, a)
		bg := &rampv1.BackgroundAnalysis{AnalysisStep: step}
		bg.StartingStep, _ = a.int32("startingStep", 0)
		if bg.StartingStep == nil {
			// Argo starts a background analysis with the canary.
			bg.StartingStep = ptr.To(int32(0))
		}
		cs.Analysis = bg
		a.done()
	}
}

// canaryStep converts one step. route is the name of a header or mirror
// route the step sets.
func canaryStep(c *converter, s *node) (step rampv1.Step, route string) {
	if v, ok := s.integer("setWeight"); ok {
		if v < 0 || v > 100 {
			s.problem("setWeight", "%d: a weight is 0 to 100", v)
		}
		step.SetWeight = ptr.To(rampv1.Percent(v))
	}
	if p := s.obj("pause"); p != nil {
		step.Pause = &rampv1.PauseStep{}
		if d, ok := p.duration("duration", true); ok && *d > 0 {
			step.Pause.Duration = &metav1.Duration{Duration: *d}
		} else if ok {
			// Argo's pause of 0 ends at once; Ramp's pause without a
			// duration waits for a person.
			p.problem("duration", "0: a pause of no time; remove the step")
		}
		p.done()
	}
	if a := s.obj("analysis"); a != nil {
		step.Analysis = ptr.To(analysisStep(c, a))
		a.done()
	}
	if h := s.obj("setHeaderRoute"); h != nil {
		step.SetHeaderRoute = &rampv1.HeaderRoute{Name: routeNameOf(h)}
		route = step.SetHeaderRoute.Name
		for _, m := range h.list("match") {
			hm := rampv1.HeaderMatch{}
			hm.Name, _ = m.str("headerName")
			if v := m.obj("headerValue"); v != nil {
				hm.Value = stringMatch(v)
				v.done()
			}
			step.SetHeaderRoute.Match = append(step.SetHeaderRoute.Match, hm)
			m.done()
		}
		h.done()
	}
	if mr := s.obj("setMirrorRoute"); mr != nil {
		step.SetMirrorRoute = &rampv1.MirrorRoute{Name: routeNameOf(mr)}
		route = step.SetMirrorRoute.Name
		percent, hasPercent := mr.int32("percentage", 1)
		matches := mr.list("match")
		if len(matches) > 1 {
			mr.problem("match", "%d matches: Ramp's mirror route matches one set of headers; split it into several setMirrorRoute steps of different names", len(matches))
		}
		for _, m := range matches {
			headers := m.obj("headers")
			if headers != nil {
				keys := make([]string, 0, len(headers.m))
				for k := range headers.m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					v := headers.obj(k)
					if v == nil {
						continue
					}
					step.SetMirrorRoute.Match = append(step.SetMirrorRoute.Match, rampv1.HeaderMatch{Name: k, Value: stringMatch(v)})
					v.done()
				}
				headers.done()
			}
			m.done()
		}
		// Argo removes a mirror route with a step that has no match.
		if len(matches) > 0 {
			step.SetMirrorRoute.Percent = ptr.To(int32(100))
			if hasPercent {
				if *percent > 100 {
					mr.problem("percentage", "%d: a percentage is 1 to 100", *percent)
				}
				step.SetMirrorRoute.Percent = percent
			}
		}
		mr.done()
	}
	// setCanaryScale, experiment and plugin are refused by the table.
	return step, route
}

func routeNameOf(n *node) string {
	name, _ := n.str("name")
	if !routeName.MatchString(name) || len(name) > 40 {
		n.problem("name", "%q: Ramp names the route ramp-<name>, so name must be a DNS label (lower case, digits, -) of at most 40 characters; rename it here and in managedRoutes", name)
	}
	return name
}

func stringMatch(v *node) rampv1.StringMatch {
	var m rampv1.StringMatch
	set := 0
	for _, f := range []struct {
		key string
		to  **string
	}{{"exact", &m.Exact}, {"prefix", &m.Prefix}, {"regex", &m.Regex}} {
		if s, ok := v.str(f.key); ok && s != "" {
			*f.to = ptr.To(s)
			set++
		}
	}
	if set != 1 {
		v.problem("", "sets %d of exact, prefix and regex; Ramp takes exactly one", set)
	}
	return m
}

func intOrString(n *node, key string, v any) *intstr.IntOrString {
	switch x := v.(type) {
	case string:
		return ptr.To(intstr.FromString(x))
	default:
		i, err := toInt(v)
		if err != nil {
			n.problem(key, "%v", err)
			return nil
		}
		return ptr.To(intstr.FromInt32(int32(i)))
	}
}
