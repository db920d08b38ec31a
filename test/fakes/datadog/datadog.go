// Package datadog is a stand-in for Datadog's metric query APIs on
// loopback, for tests: Datadog is a hosted service, so Ramp's provider is
// tested against this fake, which follows the published API reference
// (docs.datadoghq.com/api/latest/metrics and .../rate-limits) and the
// answers Datadog's own API client records in its tests:
//
//   - POST /api/v2/query/scalar: a scalar_request of metrics queries and
//     formulas; a scalar_response of parallel columns (group columns of
//     tag values, number columns whose values may be null); no data is a
//     number column with no values.
//   - GET /api/v1/query?from=&to=&query= (seconds): status "ok" and series
//     whose pointlist holds [milliseconds, value or null] pairs; no data
//     is no series.
//   - DD-API-KEY and DD-APPLICATION-KEY on every request: none is 401
//     {"errors": ["No authenticated user."]}, a wrong one 403
//     {"errors": ["Forbidden"]}.
//   - A malformed request is 400 {"errors": ["..."]}.
//   - Over the rate limit, 429 with X-RateLimit-Limit, -Period, -Remaining,
//     -Reset (seconds until the reset) and -Name.
//
// The fake does not evaluate queries: a test sets the answer of each query
// text (for a formula, the formula with each name replaced by its query in
// parentheses).
package datadog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake Datadog API.
type Server struct {
	*httptest.Server
	apiKey, appKey string

	mu       sync.Mutex
	answers  map[string]Answer
	answer   func(query string) Answer
	requests []Request
	limited  int
	reset    time.Duration
	noV2     bool
}

// Answer is what a query returns: one value per group (nil: a group with
// no data), and the groups' tag values when the query is grouped.
type Answer struct {
	Values []*float64
	Groups []string
}

// Request is a request the fake answered, as it understood it.
type Request struct {
	API        string // "v1" or "v2"
	Query      string // the key the answer was looked up by
	Aggregator string
	From, To   time.Time
	Status     int
}

// New starts a fake that accepts the given keys.
func New(apiKey, appKey string) *Server {
	s := &Server{apiKey: apiKey, appKey: appKey, answers: map[string]Answer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/query/scalar", s.scalar)
	mux.HandleFunc("GET /api/v1/query", s.timeseries)
	s.Server = httptest.NewServer(s.authed(mux))
	return s
}

// Set makes query answer the values (ungrouped: one value).
func (s *Server) Set(query string, a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[query] = a
}

// Answer makes f answer every query that Set did not name.
func (s *Server) Answer(f func(query string) Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// lookup is the answer of a query.
func (s *Server) lookup(query string) Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.answers[query]; ok || s.answer == nil {
		return a
	}
	return s.answer(query)
}

// Value is a one-value answer.
func Value(v float64) Answer { return Answer{Values: []*float64{&v}} }

// RateLimit answers the next n requests 429, saying the limit resets in
// reset.
func (s *Server) RateLimit(n int, reset time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited, s.reset = n, reset
}

// WithoutV2 makes the scalar query API answer 404, as for an account
// or proxy without it.
func (s *Server) WithoutV2() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noV2 = true
}

// Requests are the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api, app := r.Header.Get("DD-API-KEY"), r.Header.Get("DD-APPLICATION-KEY")
		switch {
		case api == "" || app == "":
			fail(w, http.StatusUnauthorized, "No authenticated user.")
			return
		case api != s.apiKey || app != s.appKey:
			fail(w, http.StatusForbidden, "Forbidden")
			return
		}
		s.mu.Lock()
		limited := s.limited > 0
		if limited {
			s.limited--
		}
		reset := s.reset
		s.mu.Unlock()
		if limited {
			h := w.Header()
			h.Set("X-RateLimit-Limit", "100")
			h.Set("X-RateLimit-Period", "60")
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", strconv.Itoa(int(reset.Seconds())))
			h.Set("X-RateLimit-Name", "query_scalar_public")
			s.record(Request{Status: http.StatusTooManyRequests})
			fail(w, http.StatusTooManyRequests, "Too many requests")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
}

var aggregators = map[string]bool{"avg": true, "min": true, "max": true, "sum": true, "last": true,
	"percentile": true, "mean": true, "l2norm": true, "area": true}

// scalar serves POST /api/v2/query/scalar.
func (s *Server) scalar(w http.ResponseWriter, r *http.Request) {
	if s.withoutV2() {
		fail(w, http.StatusNotFound, "Not found")
		return
	}
	var body struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				From, To int64
				Queries  []struct {
					DataSource string `json:"data_source"`
					Query      string `json:"query"`
					Name       string `json:"name"`
					Aggregator string `json:"aggregator"`
				} `json:"queries"`
				Formulas []struct {
					Formula string `json:"formula"`
				} `json:"formulas"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	a := body.Data.Attributes
	switch {
	case body.Data.Type != "scalar_request":
		fail(w, http.StatusBadRequest, fmt.Sprintf("invalid type %q, expected scalar_request", body.Data.Type))
		return
	case a.From <= 0 || a.To <= a.From:
		fail(w, http.StatusBadRequest, "from must be before to (milliseconds since the epoch)")
		return
	case len(a.Queries) == 0:
		fail(w, http.StatusBadRequest, "queries is required")
		return
	}
	names := map[string]string{}
	for _, q := range a.Queries {
		switch {
		case q.DataSource != "metrics":
			fail(w, http.StatusBadRequest, fmt.Sprintf("invalid data_source %q", q.DataSource))
			return
		case !aggregators[q.Aggregator]:
			fail(w, http.StatusBadRequest, fmt.Sprintf("invalid aggregator %q", q.Aggregator))
			return
		case strings.Contains(q.Query, "{{"):
			fail(w, http.StatusBadRequest, "Error(s) found in query: unexpected '{'")
			return
		}
		names[q.Name] = q.Query
	}
	key := a.Queries[0].Query
	if len(a.Formulas) > 0 {
		key = a.Formulas[0].Formula
		for n, q := range names {
			key = strings.ReplaceAll(key, n, "("+q+")")
		}
	}
	ans := s.lookup(key)
	s.record(Request{API: "v2", Query: key, Aggregator: a.Queries[0].Aggregator,
		From: time.UnixMilli(a.From), To: time.UnixMilli(a.To), Status: http.StatusOK})
	var columns []any
	if len(ans.Groups) > 0 {
		groups := make([][]string, len(ans.Groups))
		for i, g := range ans.Groups {
			groups[i] = []string{g}
		}
		columns = append(columns, map[string]any{"name": "group", "type": "group", "values": groups})
	}
	values := ans.Values
	if values == nil {
		values = []*float64{}
	}
	columns = append(columns, map[string]any{"name": a.Queries[0].Name, "type": "number", "values": values, "meta": map[string]any{"unit": nil}})
	w.Header().Set("Content-Type", "application/vnd.api+json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"id": "0", "type": "scalar_response",
		"attributes": map[string]any{"columns": columns}}})
}

// timeseries serves GET /api/v1/query: each value a series of two points,
// the last the answer.
func (s *Server) timeseries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, errFrom := strconv.ParseInt(q.Get("from"), 10, 64)
	to, errTo := strconv.ParseInt(q.Get("to"), 10, 64)
	query := q.Get("query")
	switch {
	case errFrom != nil || errTo != nil || query == "":
		fail(w, http.StatusBadRequest, "from, to and query are required (from and to in seconds since the epoch)")
		return
	case to <= from:
		fail(w, http.StatusBadRequest, "from must be before to")
		return
	}
	ans := s.lookup(query)
	s.record(Request{API: "v1", Query: query, From: time.Unix(from, 0), To: time.Unix(to, 0), Status: http.StatusOK})
	series := []any{}
	for _, v := range ans.Values {
		series = append(series, map[string]any{"metric": query, "scope": "*", "expression": query,
			"pointlist": [][]any{{float64(from * 1000), v}, {float64(to * 1000), v}}})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "res_type": "time_series", "query": query,
		"from_date": from * 1000, "to_date": to * 1000, "series": series, "message": "", "group_by": []string{}})
}

func (s *Server) withoutV2() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noV2
}
