package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/deployfile"
	"github.com/rampcd/ramp/internal/scheme"
)

func newCmdDeploy(o *Options) *cobra.Command {
	var (
		file      string
		watch     bool
		providers []string
	)
	cmd := &cobra.Command{
		Use:   "deploy -f deploy.yml",
		Short: "Deploy a CD-as-a-Service deploy file",
		Long: `Read a CD-as-a-Service deploy file and deploy it: each target (its account is
a kubeconfig context, its namespace the namespace) once the targets it
dependsOn are deployed; targets that do not depend on each other are deployed
side by side, each one's output printed together when it ends. A
Deployment deployed with a canary strategy becomes a Rollout with the
strategy's steps and the target's traffic management; analysis queries become
AnalysisTemplates; the other manifests are applied as they are, all by
server-side apply. A Deployment of a Rollout's name already running keeps its
pods until the Rollout runs all of its own, then scales to 0 (no downtime).
docs/deploy-file.md maps every field. With --watch, each
target's rollouts must become Healthy before the targets that depend on it
start; a rollback stops those targets, and the others go on.

A target's constraints.beforeDeployment gates (pauses, webhooks) run before
its objects are applied; afterDeployment gates (pauses, webhooks, analyses)
run once its rollouts are Healthy, and need --watch. Webhooks and analyses
run as HookRuns and AnalysisRuns in the target's namespace, carried out by
the controller; a failed gate stops the targets that depend on it.`,
		Example: `  ramp deploy -f deploy.yml --metric-provider prom=http://prometheus.monitoring:9090
  ramp deploy -f deploy.yml --watch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("give the deploy file with -f deploy.yml")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			f, err := deployfile.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			opts := deployfile.Options{Dir: filepath.Dir(file), MetricProviders: map[string]string{}}
			for _, p := range providers {
				name, url, ok := strings.Cut(p, "=")
				if !ok {
					return fmt.Errorf("--metric-provider %q: write NAME=URL", p)
				}
				opts.MetricProviders[name] = url
			}
			plan, err := deployfile.Translate(f, opts)
			if err != nil {
				return fmt.Errorf("%s:\n%w", file, err)
			}
			ctx := cmd.Context()
			if watch && plan.Timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, plan.Timeout)
				defer cancel()
			}
			if !watch {
				for _, tp := range plan.Targets {
					if len(tp.After) > 0 {
						return fmt.Errorf("%s: %s runs once the target's rollouts are Healthy: deploy with --watch", file, tp.After[0].Field)
					}
				}
			}
			// Every account resolves before anything is applied.
			clients := make([]client.WithWatch, len(plan.Targets))
			for i, tp := range plan.Targets {
				if clients[i], err = o.contextClient(tp.Account); err != nil {
					return fmt.Errorf("target %s: %w", tp.Name, err)
				}
			}
			return o.deployAll(ctx, plan, clients, watch)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the deploy file")
	cmd.Flags().BoolVar(&watch, "watch", false, "follow each target's rollouts, and deploy the next target only when they are Healthy")
	cmd.Flags().StringArrayVar(&providers, "metric-provider", nil, "NAME=URL: the Prometheus a metricProviderName stands for (repeatable)")
	return cmd
}

// deployTarget applies one target's objects in its account's context, and
// with watch waits for its rollouts.
func (o *Options) deployTarget(ctx context.Context, c client.WithWatch, tp deployfile.TargetPlan, watch bool) error {
	if err := o.runGates(ctx, c, tp, deployfile.BeforeDeployment, tp.Before); err != nil {
		return fmt.Errorf("%w; this target and those that depend on it are not deployed", err)
	}
	taken, err := running(ctx, c, tp)
	if err != nil {
		return err
	}
	for _, obj := range tp.Objects {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner("ramp-deploy"), client.ForceOwnership); err != nil {
			return fmt.Errorf("target %s: apply %s %s: %w", tp.Name, obj.GetKind(), obj.GetName(), err)
		}
		fmt.Fprintf(o.Out, "%s: %s %s/%s applied\n", tp.Name, strings.ToLower(obj.GetKind()), obj.GetNamespace(), obj.GetName())
	}
	for _, d := range taken {
		if err := o.takeOver(ctx, c, tp.Name, d); err != nil {
			return fmt.Errorf("%w; the targets that depend on it are not deployed", err)
		}
	}
	if !watch {
		return nil
	}
	for _, ro := range tp.Rollouts {
		tty := terminal(o.Out)
		s := &statusView{o: o, c: c, ns: ro.Namespace, name: ro.Name, color: tty}
		start := time.Now()
		if err := s.follow(ctx, tty, true, time.Until(deadline(ctx))); err != nil {
			return fmt.Errorf("target %s: %w; the targets that depend on it are not deployed", tp.Name, err)
		}
		fmt.Fprintf(o.Out, "%s: rollout %s/%s is Healthy (%s)\n", tp.Name, ro.Namespace, ro.Name, time.Since(start).Round(time.Second))
	}
	// A failed afterDeployment gate rolls nothing back: it stops the
	// targets that come after.
	if err := o.runGates(ctx, c, tp, deployfile.AfterDeployment, tp.After); err != nil {
		return fmt.Errorf("%w; the target stays deployed, the targets that depend on it are not deployed", err)
	}
	return nil
}

// contextClient connects with the kubeconfig context named account; with
// --context given, that one is used for every target.
func (o *Options) contextClient(account string) (client.WithWatch, error) {
	if (o.Flags.Context != nil && *o.Flags.Context != "") || account == "" {
		return o.Client()
	}
	raw, err := o.Flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, err
	}
	if _, ok := raw.Contexts[account]; !ok {
		var names []string
		for n := range raw.Contexts {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("account %q is not a context of your kubeconfig (it has %s); name a context, or pass --context", account, strings.Join(names, ", "))
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(raw, account, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "ramp-cli"
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(24 * time.Hour)
}

// deployAll deploys each target once those it depends on are deployed
// (with --watch, Healthy), and targets that do not depend on each other
// side by side. When more than one can run at a time, a target's output is
// kept and printed whole when it ends, so that the targets' lines do not
// mix. A failed target stops those that depend on it; the others go on.
func (o *Options) deployAll(ctx context.Context, plan *deployfile.Plan, clients []client.WithWatch, watch bool) error {
	done := map[string]chan struct{}{}
	for _, tp := range plan.Targets {
		done[tp.Name] = make(chan struct{})
	}
	var (
		mu     sync.Mutex
		failed = map[string]bool{}
		errs   []error
		wg     sync.WaitGroup
	)
	side := !sequential(plan)
	for i, tp := range plan.Targets {
		wg.Go(func() {
			defer close(done[tp.Name])
			for _, dep := range tp.DependsOn {
				<-done[dep]
				mu.Lock()
				stop := failed[dep]
				if stop {
					failed[tp.Name] = true
				}
				mu.Unlock()
				if stop {
					return // its dependency's error says so
				}
			}
			to, out := o, (*bytes.Buffer)(nil)
			if side {
				out = &bytes.Buffer{}
				to = &Options{Flags: o.Flags, Out: out, ErrOut: out, Now: o.Now}
			}
			err := to.deployTarget(ctx, clients[i], tp, watch)
			mu.Lock()
			defer mu.Unlock()
			if out != nil {
				_, _ = o.Out.Write(out.Bytes())
			}
			if err != nil {
				failed[tp.Name] = true
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sequential reports whether the plan's targets can only run one at a
// time: each depends, directly or not, on the one before it.
func sequential(plan *deployfile.Plan) bool {
	deps := map[string][]string{}
	for _, tp := range plan.Targets {
		deps[tp.Name] = tp.DependsOn
	}
	var reaches func(from, to string) bool
	reaches = func(from, to string) bool {
		for _, d := range deps[from] {
			if d == to || reaches(d, to) {
				return true
			}
		}
		return false
	}
	for i := 1; i < len(plan.Targets); i++ {
		if !reaches(plan.Targets[i].Name, plan.Targets[i-1].Name) {
			return false
		}
	}
	return true
}
