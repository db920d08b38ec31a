package manager

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/rampcd/ramp/internal/shard"
)

// Leader election timing: controller-runtime's defaults, spelled out
// because the fence's window is derived from them.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// leaseName is the leader-election Lease.
const leaseName = "ramp-controller.ramp.dev"

// inClusterNamespace names the namespace of the pod the process runs in.
const inClusterNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// replicaIdentity names this process in the Lease and in its requests'
// user agent, so the API server's audit log tells the replicas apart.
func replicaIdentity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return host + "_" + string(uuid.NewUUID()), nil
}

// withIdentity adds the replica's identity to cfg's user agent, after the
// first "/" so that the field manager the API server derives from it (the
// part before) stays the same on every replica.
func withIdentity(cfg *rest.Config, id string) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	agent := cfg.UserAgent
	if agent == "" {
		agent = "ramp-controller"
	}
	if !strings.Contains(agent, "/") {
		agent += "/"
	} else {
		agent += " "
	}
	cfg.UserAgent = agent + "replica=" + id
	return cfg
}

// ownNamespace is the namespace of the pod the process runs in.
func ownNamespace() (string, error) {
	ns, err := os.ReadFile(inClusterNamespace)
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("not running in a pod")
	}
	if err != nil {
		return "", fmt.Errorf("read the controller's namespace: %w", err)
	}
	return strings.TrimSpace(string(ns)), nil
}

// leaseNamespace is the namespace of the Leases: the one given, else the
// controller's own.
func leaseNamespace(namespace, what string) (string, error) {
	if namespace != "" {
		return namespace, nil
	}
	ns, err := ownNamespace()
	if err != nil {
		return "", fmt.Errorf("%s needs a namespace for its Leases: pass --leader-election-namespace (outside a cluster): %w", what, err)
	}
	return ns, nil
}

// leaseClient is the clientset a replica writes its Leases with: its own
// user agent, and a timeout that keeps a renewal stuck on a slow server
// from outliving the renew deadline.
func leaseClient(cfg *rest.Config, agent string) (*kubernetes.Clientset, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent += " " + agent
	cfg.Timeout = renewDeadline / 2
	return kubernetes.NewForConfig(cfg)
}

// newShards builds this replica's Set of shards, with leader election's
// timing.
func newShards(cfg *rest.Config, namespace, id string, n int) (*shard.Set, error) {
	namespace, err := leaseNamespace(namespace, "--shards")
	if err != nil {
		return nil, err
	}
	cs, err := leaseClient(cfg, "shards")
	if err != nil {
		return nil, err
	}
	return shard.New(cs.CoordinationV1(), shard.Options{
		Shards: n, Namespace: namespace, Identity: id, Prefix: leaseName,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
	}, ctrl.Log.WithName("shards"))
}

// leaderFence builds the Lease lock the manager elects a leader with,
// wrapped in the fence that keeps a deposed leader from writing, and
// from writing while replicas run with --shards still hold shards (quiet,
// to be run by the manager). The lock records no "became leader" Events:
// the Lease's holder says it.
func leaderFence(cfg *rest.Config, namespace, id string) (lock *fence, quiet *shard.Quiet, err error) {
	namespace, err = leaseNamespace(namespace, "leader election")
	if err != nil {
		return nil, nil, err
	}
	cs, err := leaseClient(cfg, "leader-election")
	if err != nil {
		return nil, nil, err
	}
	rl, err := resourcelock.New(resourcelock.LeasesResourceLock, namespace, leaseName,
		cs.CoreV1(), cs.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return nil, nil, err
	}
	quiet = shard.NewQuiet(cs.CoordinationV1(), namespace, retryPeriod, ctrl.Log.WithName("leader"))
	lock = newFence(rl, renewDeadline)
	lock.also = quiet.Check
	return lock, quiet, nil
}
