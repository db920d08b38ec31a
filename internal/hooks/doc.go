// Package hooks runs a canary's integration tests: webhooks (called once
// or with a callback the test system answers later) and Jobs in the
// cluster. Everything here is free of Kubernetes writes; the HookRun
// reconciler (internal/controller/hookrun) drives it and keeps its state.
package hooks
