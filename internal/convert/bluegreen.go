package convert

import (
	"k8s.io/utils/ptr"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// blueGreen converts a blue/green strategy. Argo's pre- and post-promotion
// analyses become a single analysis step before and after the switch.
func blueGreen(c *converter, n *node, ro *rampv1.Rollout) {
	bg := &rampv1.BlueGreenStrategy{}
	ro.Spec.Strategy.BlueGreen = bg
	bg.ActiveService, _ = n.str("activeService")
	bg.PreviewService, _ = n.str("previewService")
	bg.PreviewReplicaCount, _ = n.int32("previewReplicaCount", 1)

	// Argo promotes at once unless autoPromotionEnabled is false, after
	// autoPromotionSeconds if set (which it ignores when disabled).
	enabled, ok := n.boolean("autoPromotionEnabled")
	if !ok {
		enabled = true
	}
	wait, _ := n.int32("autoPromotionSeconds", 0)
	if enabled {
		bg.AutoPromotionSeconds = ptr.To(ptr.Deref(wait, 0))
	}

	bg.ScaleDownDelaySeconds, _ = n.int32("scaleDownDelaySeconds", 0)
	if v, ok := n.int32("abortScaleDownDelaySeconds", 0); ok {
		switch {
		case *v == 0:
			n.problem("abortScaleDownDelaySeconds", "0: to Argo this keeps the aborted preview's pods for ever; Ramp always removes them, and 0 means at once. Give the delay Ramp should wait (up to 3600 seconds)")
		case *v > 3600:
			n.problem("abortScaleDownDelaySeconds", "%d: Ramp waits at most 3600 seconds", *v)
		}
		bg.AbortScaleDownDelaySeconds = v
	}
	if a := n.obj("prePromotionAnalysis"); a != nil {
		bg.PrePromotion = []rampv1.Step{{Analysis: ptr.To(analysisStep(c, a))}}
		a.done()
	}
	if a := n.obj("postPromotionAnalysis"); a != nil {
		bg.PostPromotion = []rampv1.Step{{Analysis: ptr.To(analysisStep(c, a))}}
		a.done()
	}
}
