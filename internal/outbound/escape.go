package outbound

import (
	"encoding/json"
	"net/url"
)

// URLEscape escapes a value for a URL query.
func URLEscape(s string) string { return url.QueryEscape(s) }

// JSONEscape escapes a value for the inside of a JSON string.
func JSONEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
