// Package newrelic is a stand-in for New Relic's NerdGraph API on
// loopback, for tests: New Relic is a hosted service, so Ramp's provider
// is tested against this fake, which follows the published NerdGraph
// documentation (docs.newrelic.com, "Introduction to NerdGraph" and the
// NRQL tutorial) and the answers of New Relic's own Go client's tests:
//
//   - POST /graphql with an API-Key header and a GraphQL body {query,
//     variables}; the NRQL query reached as
//     actor { account(id: N) { nrql(query: "...") { results } } }.
//   - The answer: data.actor.account.nrql.results, a list of objects
//     whose keys follow the query (count, average.duration, facet, ...).
//   - A wrong or missing key: 401 with errors
//     [{message: "Bad API Key or no API Key provided", extensions:
//     {error_code: BAD_API_KEY}}].
//   - A bad NRQL query: 200 with nrql null and an error whose message
//     reads "NRQL Syntax Error: ...".
//   - Too many requests at once: 429.
//
// The fake does not run NRQL: a test sets the result rows of each query
// text; any query containing FORM is a syntax error.
package newrelic

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Server is a fake NerdGraph.
type Server struct {
	*httptest.Server
	key     string
	account int64

	mu       sync.Mutex
	results  map[string][]map[string]any
	answer   func(nrql string) []map[string]any
	busy     int
	requests []string
}

// New starts a fake that accepts key for account.
func New(key string, account int64) *Server {
	s := &Server{key: key, account: account, results: map[string][]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql", s.graphql)
	s.Server = httptest.NewServer(mux)
	return s
}

// Set makes nrql return rows.
func (s *Server) Set(nrql string, rows ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[nrql] = rows
}

// Answer makes f answer every query that Set did not name.
func (s *Server) Answer(f func(nrql string) []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// Busy answers the next n requests 429.
func (s *Server) Busy(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy = n
}

// Requests are the NRQL queries asked so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []string       `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func write(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("API-Key") != s.key {
		write(w, http.StatusUnauthorized, map[string]any{"errors": []gqlError{{
			Message: "Bad API Key or no API Key provided", Extensions: map[string]any{"error_code": "BAD_API_KEY"}}}})
		return
	}
	s.mu.Lock()
	busy := s.busy > 0
	if busy {
		s.busy--
	}
	s.mu.Unlock()
	if busy {
		write(w, http.StatusTooManyRequests, map[string]any{"errors": []gqlError{{Message: "Too many concurrent requests"}}})
		return
	}
	var body struct {
		Query     string `json:"query"`
		Variables struct {
			AccountID int64  `json:"accountId"`
			Query     string `json:"query"`
		} `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		write(w, http.StatusBadRequest, map[string]any{"errors": []gqlError{{Message: "invalid JSON: " + err.Error()}}})
		return
	}
	// The fake serves the one document shape the NRQL tutorial shows,
	// with variables.
	if !strings.Contains(body.Query, "account(id: $accountId)") || !strings.Contains(body.Query, "nrql(query: $query)") ||
		!strings.Contains(body.Query, "$query: Nrql!") || !strings.Contains(body.Query, "$accountId: Int!") {
		write(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: "the fake serves actor.account(id: $accountId).nrql(query: $query) only"}}})
		return
	}
	nrql := body.Variables.Query
	s.mu.Lock()
	s.requests = append(s.requests, nrql)
	rows, ok := s.results[nrql]
	answer := s.answer
	s.mu.Unlock()
	switch {
	case body.Variables.AccountID != s.account:
		write(w, http.StatusOK, map[string]any{"data": map[string]any{"actor": map[string]any{"account": nil}},
			"errors": []gqlError{{Message: "Not authorized to access account", Path: []string{"actor", "account"}}}})
		return
	case strings.Contains(nrql, "FORM"):
		i := strings.Index(nrql, "FORM")
		write(w, http.StatusOK, map[string]any{"data": map[string]any{"actor": map[string]any{"account": map[string]any{"nrql": nil}}},
			"errors": []gqlError{{Message: "NRQL Syntax Error: Error at line 1 position " + strconv.Itoa(i+1) + ", unexpected 'FORM'",
				Path: []string{"actor", "account", "nrql"}}}})
		return
	case !ok && answer != nil:
		rows = answer(nrql)
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	write(w, http.StatusOK, map[string]any{"data": map[string]any{"actor": map[string]any{"account": map[string]any{
		"nrql": map[string]any{"results": rows}}}}})
}
