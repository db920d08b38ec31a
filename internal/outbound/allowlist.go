package outbound

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Allowlist limits the hosts webhooks and notifications may call: host
// names ("ci.example.com"), domains ("*.example.com": its subdomains) and
// address ranges ("10.0.0.0/8", "127.0.0.1/32"). An empty Allowlist allows
// every host.
type Allowlist []string

// ParseAllowlist checks the entries of an allowlist.
func ParseAllowlist(entries []string) (Allowlist, error) {
	for _, e := range entries {
		if strings.Contains(e, "/") {
			if _, err := netip.ParsePrefix(e); err != nil {
				return nil, fmt.Errorf("webhook allowlist entry %q: not an address range (e.g. 10.0.0.0/8): %w", e, err)
			}
		} else if e == "" || strings.ContainsAny(e, ":@ ") {
			return nil, fmt.Errorf("webhook allowlist entry %q: write a host name, *.domain or an address range", e)
		}
	}
	return Allowlist(entries), nil
}

// Check reports, as an error for people, whether a URL names an allowed
// host. Host names are matched as written, not resolved: a range allows
// only URLs that name an address in it.
func (a Allowlist) Check(rawURL string) error {
	if len(a) == 0 {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	host := strings.ToLower(u.Hostname())
	addr, notAddr := netip.ParseAddr(host)
	isAddr := notAddr == nil
	for _, e := range a {
		e = strings.ToLower(e)
		switch {
		case strings.Contains(e, "/"):
			if p, err := netip.ParsePrefix(e); err == nil && isAddr && p.Contains(addr.Unmap()) {
				return nil
			}
		case strings.HasPrefix(e, "*."):
			if strings.HasSuffix(host, e[1:]) {
				return nil
			}
		case host == e:
			return nil
		}
	}
	return fmt.Errorf("host %s is not in the controller's webhook allowlist (%s)", host, strings.Join(a, ", "))
}
