package v1alpha1

import "strings"

// Summary describes a step in a few words, for events, status and the
// CLI: "setWeight 25%", "pause 5m0s", "analysis errors", "webhook POST
// https://ci.example/run", "job smoke".
func (s Step) Summary() string {
	switch {
	case s.SetWeight != nil:
		return "setWeight " + s.SetWeight.String() + "%"
	case s.Pause != nil && s.Pause.Duration != nil:
		return "pause " + s.Pause.Duration.Duration.String()
	case s.Pause != nil:
		return "pause until promoted"
	case s.Analysis != nil:
		names := make([]string, len(s.Analysis.Templates))
		for i, t := range s.Analysis.Templates {
			names[i] = t.TemplateName
		}
		return "analysis " + strings.Join(names, ", ")
	case s.Webhook != nil:
		method := s.Webhook.Method
		if method == "" {
			method = "POST"
		}
		url := s.Webhook.URL
		if i := strings.IndexAny(url, "?#"); i >= 0 {
			url = url[:i]
		}
		return "webhook " + method + " " + url
	case s.Job != nil:
		return "job " + s.Job.Container.Name
	case s.SetCookieRoute != nil && s.SetCookieRoute.Value != nil:
		c := s.SetCookieRoute
		return describeRoute(Route{Name: c.Name, Match: []HeaderMatch{{Name: "cookie " + c.Cookie, Value: *c.Value}}}, false)
	case s.IsRoute():
		r, remove, _ := s.route()
		return describeRoute(r, remove)
	}
	return "step"
}

// WeightAt is the canary weight in force at step i: that of the last
// setWeight at or before it.
func WeightAt(steps []Step, i int) Weight {
	for i = min(i, len(steps)-1); i >= 0; i-- {
		if w := steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}
