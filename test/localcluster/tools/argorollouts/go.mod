module github.com/rampcd/ramp/test/localcluster/tools/argorollouts

go 1.26.0

// Pinned for its CRD manifests only (manifests/crds), which the side-by-side
// and migration tests install; nothing of it is built. v1.10.1: later
// releases need a newer Go than the one pinned here.
require github.com/argoproj/argo-rollouts v1.10.1
