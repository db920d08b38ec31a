package dashboard

import "testing"

func TestHub(t *testing.T) {
	h := newHub()
	shop, all := h.subscribe("shop"), h.subscribe("")
	told := func(s *subscription) bool {
		select {
		case <-s.changed:
			return true
		default:
			return false
		}
	}
	h.notify("pay")
	if told(shop) || !told(all) {
		t.Error("a change in pay: want only the all-namespaces stream told")
	}
	h.notify("shop")
	h.notify("shop") // told once: the stream redraws from the cache anyway
	if !told(shop) || told(shop) || !told(all) {
		t.Error("two changes in shop: want each stream told once")
	}
	h.unsubscribe(shop)
	h.notify("shop")
	if told(shop) || h.count() != 1 {
		t.Errorf("after unsubscribing: told again, or %d streams", h.count())
	}
}
