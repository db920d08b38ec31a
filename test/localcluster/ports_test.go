package localcluster

import "testing"

// TestPortsBelowTheEphemeralRange: the ports chosen for the components are
// distinct and free, and none is one the kernel could hand an outgoing
// connection or another listener before the component binds it.
func TestPortsBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low < 21000 {
		t.Skipf("the ephemeral range starts at %d: no room below it", low)
	}
	p, err := choosePorts(Ports{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, port := range []int{p.EtcdClient, p.EtcdPeer, p.APIServer, p.ControllerManager, p.Scheduler} {
		if port < 20000 || port >= low || seen[port] {
			t.Errorf("ports %+v: %d is a repeat or outside [20000, %d)", p, port, low)
		}
		seen[port] = true
	}
}
