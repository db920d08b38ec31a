package localcluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// AuditedWrite is what the audit log (Options.AuditWrites) says of one
// write request.
type AuditedWrite struct {
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	ObjectRef struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received time.Time `json:"requestReceivedTimestamp"`
	// Response is the object as written, for the writes recorded with
	// their bodies (Leases).
	Response json.RawMessage `json:"responseObject,omitempty"`
}

// Resource is the resource written, with its subresource: "rollouts/status".
func (w AuditedWrite) Resource() string {
	if w.ObjectRef.Subresource == "" {
		return w.ObjectRef.Resource
	}
	return w.ObjectRef.Resource + "/" + w.ObjectRef.Subresource
}

func (w AuditedWrite) String() string {
	return fmt.Sprintf("%s %s %s %s → %d", w.Received.Format(time.StampMicro), w.Verb, w.Resource(), w.ObjectRef.Name, w.ResponseStatus.Code)
}

// AuditedWrites reads the audit log: every write so far.
func (c *Cluster) AuditedWrites() ([]AuditedWrite, error) {
	f, err := os.Open(c.AuditLog())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var writes []AuditedWrite
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var w AuditedWrite
		if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
			return nil, fmt.Errorf("localcluster: audit log %s: %w", c.AuditLog(), err)
		}
		writes = append(writes, w)
	}
	return writes, sc.Err()
}
