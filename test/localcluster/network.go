package localcluster

import (
	"fmt"
	"net/netip"
)

var loopback = netip.MustParsePrefix("127.0.0.0/8")

// checkLoopbackCIDR refuses a CIDR that reaches outside 127.0.0.0/8: pod IPs
// must be addresses this machine answers on, and nothing else.
func checkLoopbackCIDR(cidr string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("%q is not a CIDR: %w", cidr, err)
	}
	if !p.Addr().Is4() || p.Bits() < loopback.Bits() || !loopback.Contains(p.Addr()) {
		return fmt.Errorf("%q must lie inside 127.0.0.0/8", cidr)
	}
	return nil
}

// firstServiceIP is the ClusterIP of the kubernetes Service, which the
// API server's serving certificate must name.
func firstServiceIP() []byte {
	return netip.MustParsePrefix(serviceCIDR).Addr().Next().AsSlice()
}
