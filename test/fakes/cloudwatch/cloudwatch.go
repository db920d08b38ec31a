// Package cloudwatch is a stand-in for Amazon CloudWatch's GetMetricData
// on loopback, for tests: CloudWatch is a hosted service, so Ramp's
// provider is tested against this fake, driven by the real AWS SDK for Go
// v2 pointed at it (its BaseEndpoint). It follows the published API
// reference of GetMetricData and the wire protocol the SDK speaks to
// CloudWatch since 2025, Smithy RPC v2 CBOR:
//
//   - POST /service/GraniteServiceVersion20100801/operation/GetMetricData
//     with Content-Type application/cbor and Smithy-Protocol rpc-v2-cbor;
//     a CBOR map of StartTime and EndTime (tag 1, epoch seconds),
//     MetricDataQueries (Id, and MetricStat or Expression), ScanBy and
//     NextToken.
//   - The answer: MetricDataResults (Id, Label, StatusCode, Timestamps,
//     Values, newest first by default), and NextToken while pages are left.
//   - Errors: a CBOR map of __type and message, with X-Amzn-Query-Error
//     giving the query-compatible code: ValidationError (400) for a
//     malformed request, InvalidNextToken (400), AccessDeniedException
//     (403) for another access key, Throttling (400, which the SDK retries).
//
// The fake checks the access key in the Authorization header, not the
// signature. It does not compute metrics: a test sets each query's points,
// by the query's expression, or its metric as
// Namespace/MetricName/Name=Value,... with its statistic after a colon.
package cloudwatch

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Path is GetMetricData's, in the RPC v2 CBOR protocol.
const Path = "/service/GraniteServiceVersion20100801/operation/GetMetricData"

// Server is a fake CloudWatch.
type Server struct {
	*httptest.Server
	accessKey string

	mu        sync.Mutex
	points    map[string][]Point
	answer    func(key string, req Request) []Point
	pageSize  int
	badToken  bool
	throttled int
	requests  []Request
}

// Point is a value at a time.
type Point struct {
	At    time.Time
	Value float64
}

// Request is what the fake understood of a GetMetricData call.
type Request struct {
	Start, End time.Time
	Queries    []string // each query's key
	NextToken  string
	Status     int
}

// New starts a fake that accepts the access key id.
func New(accessKey string) *Server {
	s := &Server{accessKey: accessKey, points: map[string][]Point{}, pageSize: 100}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Set gives a query (by its key) its points.
func (s *Server) Set(key string, points ...Point) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.points[key] = points
}

// Answer makes f give the points of every query that Set did not name;
// it sees the whole request (an expression's points depend on the
// metrics it combines).
func (s *Server) Answer(f func(key string, req Request) []Point) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// PageSize sets how many points of all queries a page carries.
func (s *Server) PageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// BadToken makes the first page's NextToken one the fake then refuses
// (InvalidNextToken), as CloudWatch does with an expired token.
func (s *Server) BadToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badToken = true
}

// Throttle answers the next n calls with a Throttling error.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled = n
}

// Requests are the calls answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func fail(w http.ResponseWriter, status int, code, queryCode, msg string) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Query-Error", queryCode+";Sender")
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + code), "message": cbor.String(msg)}))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodPost || r.URL.Path != Path:
		http.Error(w, "not found", http.StatusNotFound)
		return
	case r.Header.Get("Content-Type") != "application/cbor" || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor":
		fail(w, http.StatusBadRequest, "ValidationError", "ValidationError", "expected Content-Type application/cbor and Smithy-Protocol rpc-v2-cbor")
		return
	case !strings.Contains(r.Header.Get("Authorization"), "Credential="+s.accessKey+"/"):
		fail(w, http.StatusForbidden, "AccessDeniedException", "AccessDenied", "User is not authorized to perform: cloudwatch:GetMetricData")
		return
	}
	s.mu.Lock()
	throttled := s.throttled > 0
	if throttled {
		s.throttled--
		s.requests = append(s.requests, Request{Status: http.StatusBadRequest})
	}
	s.mu.Unlock()
	if throttled {
		fail(w, http.StatusBadRequest, "ThrottlingException", "Throttling", "Rate exceeded")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	v, err := cbor.Decode(body)
	in, ok := v.(cbor.Map)
	if err != nil || !ok {
		fail(w, http.StatusBadRequest, "ValidationError", "ValidationError", "the body is not a CBOR map")
		return
	}
	start, errStart := cbor.AsTime(in["StartTime"])
	end, errEnd := cbor.AsTime(in["EndTime"])
	queries, _ := in["MetricDataQueries"].(cbor.List)
	switch {
	case errStart != nil || errEnd != nil:
		fail(w, http.StatusBadRequest, "ValidationError", "ValidationError", "StartTime and EndTime are required timestamps")
		return
	case !start.Before(end):
		fail(w, http.StatusBadRequest, "ValidationError", "ValidationError", "The parameter StartTime must be less than the parameter EndTime.")
		return
	case len(queries) == 0 || len(queries) > 500:
		fail(w, http.StatusBadRequest, "ValidationError", "ValidationError", "MetricDataQueries must hold 1 to 500 queries")
		return
	}
	req := Request{Start: start, End: end, Status: http.StatusOK}
	type result struct {
		id, label string
		points    []Point
	}
	keys := make([]string, len(queries))
	for i, q := range queries {
		qm, _ := q.(cbor.Map)
		id, _ := qm["Id"].(cbor.String)
		key, err := queryKey(qm)
		if id == "" || err != nil {
			fail(w, http.StatusBadRequest, "ValidationError", "ValidationError", fmt.Sprintf("query %q: %v", id, err))
			return
		}
		keys[i] = key
	}
	req.Queries = keys
	var results []result
	for i, q := range queries {
		qm, _ := q.(cbor.Map)
		id, _ := qm["Id"].(cbor.String)
		key := keys[i]
		if rd, ok := qm["ReturnData"].(cbor.Bool); ok && !bool(rd) {
			continue
		}
		s.mu.Lock()
		all, ok := s.points[key]
		if !ok && s.answer != nil {
			all = s.answer(key, req)
		}
		var in []Point
		for _, p := range all {
			if !p.At.Before(start) && p.At.Before(end) {
				in = append(in, p)
			}
		}
		s.mu.Unlock()
		sort.Slice(in, func(i, j int) bool { return in[i].At.After(in[j].At) }) // newest first
		label, _ := qm["Label"].(cbor.String)
		results = append(results, result{id: string(id), label: string(label), points: in})
	}
	// Pages: pageSize points at a time over all results; the token is
	// the number of points already sent.
	offset := 0
	if tok, ok := in["NextToken"].(cbor.String); ok {
		req.NextToken = string(tok)
		n, err := strconv.Atoi(strings.TrimPrefix(string(tok), "page-"))
		if err != nil || !strings.HasPrefix(string(tok), "page-") {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Start: start, End: end, Queries: keys, NextToken: string(tok), Status: http.StatusBadRequest})
			s.mu.Unlock()
			fail(w, http.StatusBadRequest, "InvalidNextToken", "InvalidNextToken", "The service couldn't process the NextToken")
			return
		}
		offset = n
	}
	s.mu.Lock()
	size := s.pageSize
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	var out cbor.List
	sent, skipped := 0, 0
	for _, res := range results {
		var ts, vs cbor.List
		for _, p := range res.points {
			if skipped < offset {
				skipped++
				continue
			}
			if sent == size {
				break
			}
			ts = append(ts, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(p.At.UnixMilli()) / 1e3)})
			vs = append(vs, cbor.Float64(p.Value))
			sent++
		}
		out = append(out, cbor.Map{"Id": cbor.String(res.id), "Label": cbor.String(res.label),
			"StatusCode": cbor.String("Complete"), "Timestamps": ts, "Values": vs})
	}
	answer := cbor.Map{"MetricDataResults": out}
	total := 0
	for _, res := range results {
		total += len(res.points)
	}
	if offset+sent < total {
		answer["NextToken"] = cbor.String("page-" + strconv.Itoa(offset+sent))
		s.mu.Lock()
		if s.badToken {
			answer["NextToken"] = cbor.String("expired")
		}
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	_, _ = w.Write(cbor.Encode(answer))
}

// queryKey names a query: its expression, or its metric and statistic.
func queryKey(q cbor.Map) (string, error) {
	if e, ok := q["Expression"].(cbor.String); ok {
		if _, both := q["MetricStat"]; both {
			return "", fmt.Errorf("set exactly one of Expression and MetricStat")
		}
		return string(e), nil
	}
	ms, ok := q["MetricStat"].(cbor.Map)
	if !ok {
		return "", fmt.Errorf("set exactly one of Expression and MetricStat")
	}
	metric, _ := ms["Metric"].(cbor.Map)
	ns, _ := metric["Namespace"].(cbor.String)
	name, _ := metric["MetricName"].(cbor.String)
	stat, _ := ms["Stat"].(cbor.String)
	period, err := cbor.AsInt32(ms["Period"])
	switch {
	case ns == "" || name == "" || stat == "":
		return "", fmt.Errorf("MetricStat needs Metric.Namespace, Metric.MetricName and Stat")
	case err != nil || !(period == 1 || period == 5 || period == 10 || period == 20 || period == 30 || (period > 0 && period%60 == 0)):
		return "", fmt.Errorf("the parameter MetricStat.Period must be 1, 5, 10, 20, 30 or a multiple of 60")
	}
	var dims []string
	list, _ := metric["Dimensions"].(cbor.List)
	for _, d := range list {
		dm, _ := d.(cbor.Map)
		n, _ := dm["Name"].(cbor.String)
		v, _ := dm["Value"].(cbor.String)
		dims = append(dims, string(n)+"="+string(v))
	}
	return fmt.Sprintf("%s/%s/%s:%s", ns, name, strings.Join(dims, ","), stat), nil
}
