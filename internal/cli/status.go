package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	kwatch "k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/cli/render"
	"github.com/rampcd/ramp/internal/snapshot"
)

// ExitError ends the process with Code after printing its message.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes of `ramp status --wait`.
const (
	ExitDegraded = 1
	ExitTimeout  = 2
	// ExitFailed: the rollout could not be followed (no cluster, no rights).
	ExitFailed = 3
)

// refresh is how often a watched status is redrawn without a change to the
// Rollout, for ages and measurements.
const refresh = 2 * time.Second

func newCmdStatus(o *Options) *cobra.Command {
	var (
		watch, wait, noColor bool
		timeout              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show a rollout's steps, traffic, revisions, analyses, hooks and events",
		Long: `Show a rollout as a tree: its phase; its revisions and their ready pods; the
canary's weight, asked and reached; the steps, the current one marked; the
latest analysis measurements against their conditions; hooks and their
results; the latest events.

-w redraws it as it changes. --wait waits until the rollout settles, for
pipelines: exit 0 when the rollout's current template is stable and
Healthy, 1 when it was rolled back (Degraded), 2 when --timeout passes first,
3 when the rollout cannot be followed (no cluster, no rights, not found).`,
		Example: `  ramp status web
  ramp status web -w
  ramp status web --wait --timeout 15m   # in CI, after ramp set image`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeRollouts,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.Connect()
			if err != nil {
				return err
			}
			tty := terminal(o.Out)
			s := &statusView{o: o, c: c, ns: ns, name: args[0], color: !noColor && tty}
			ctx := cmd.Context()
			if wait {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			if !watch && !wait {
				_, err := s.draw(ctx, false)
				return err
			}
			err = s.follow(ctx, watch && tty, wait, timeout)
			var exit *ExitError
			if wait && err != nil && !errors.As(err, &exit) {
				err = &ExitError{Code: ExitFailed, Err: err}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&watch, "watch", "w", false, "redraw as the rollout changes")
	f.BoolVar(&wait, "wait", false, "wait until the rollout is Healthy (exit 0) or Degraded (exit 1)")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "with --wait, give up after this long (exit 2)")
	f.BoolVar(&noColor, "no-color", false, "no colours, even on a terminal")
	return cmd
}

// statusView draws one rollout, once or as it changes.
type statusView struct {
	o        *Options
	c        client.WithWatch
	ns, name string
	color    bool
	last     []byte
}

// snapshot reads the rollout and what it owns.
func (s *statusView) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	snap, err := snapshot.Read(ctx, s.c, client.ObjectKey{Namespace: s.ns, Name: s.name})
	if err != nil {
		return nil, notFound(err, "Rollout", s.ns, s.name)
	}
	return snap, nil
}

// draw renders the rollout and returns it; redraw clears the terminal
// first, and without it only changes are printed.
func (s *statusView) draw(ctx context.Context, redraw bool) (*rampv1.Rollout, error) {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	style := render.Style{Width: s.width(), Color: s.color, Now: s.o.Now()}
	var b bytes.Buffer
	render.Status(&b, snap, style)
	if redraw {
		fmt.Fprint(s.o.Out, "\x1b[H\x1b[2J")
	} else {
		// Off a terminal, print only changes; ages alone are none.
		var key bytes.Buffer
		style.Now = time.Time{}
		render.Status(&key, snap, style)
		if bytes.Equal(key.Bytes(), s.last) {
			return snap.Rollout, nil
		}
		if s.last != nil {
			fmt.Fprintln(s.o.Out)
		}
		s.last = key.Bytes()
	}
	_, err = s.o.Out.Write(b.Bytes())
	return snap.Rollout, err
}

// follow redraws on every change of the rollout (and every few seconds),
// and with wait returns when it settles.
func (s *statusView) follow(ctx context.Context, redraw, wait bool, timeout time.Duration) error {
	watch := func() (kwatch.Interface, error) {
		return s.c.Watch(ctx, &rampv1.RolloutList{}, client.InNamespace(s.ns),
			client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", s.name)})
	}
	w, err := watch()
	if err != nil {
		return err
	}
	defer func() { w.Stop() }()
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		ro, err := s.draw(ctx, redraw)
		if err == nil && wait {
			var done bool
			if done, err = s.settled(ctx, ro); done || err != nil {
				return err
			}
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return s.ended(ctx, wait, timeout)
		case _, ok := <-w.ResultChan():
			if !ok && ctx.Err() == nil {
				// The server ended the watch: start another.
				w.Stop()
				if w, err = watch(); err != nil {
					return err
				}
			}
		case <-tick.C:
		}
	}
}

// ended says why following stopped: a timeout (with --wait), or the user.
func (s *statusView) ended(ctx context.Context, wait bool, timeout time.Duration) error {
	if wait && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("rollout %s/%s did not settle within %s", s.ns, s.name, timeout)}
	}
	return nil // interrupted (Ctrl-C): not an error
}

// settled reports whether the rollout is done with its current pod template
// and with every request made of it: Healthy with that template's revision
// stable (nil), or that revision rolled back (an ExitError).
func (s *statusView) settled(ctx context.Context, ro *rampv1.Rollout) (bool, error) {
	st := ro.Status
	if st.ObservedGeneration < ro.Generation || !requestsHandled(ro) {
		return false, nil
	}
	rev, err := s.currentRevision(ctx, ro)
	if err != nil || rev == "" {
		return false, err
	}
	switch {
	case st.Phase == rampv1.PhaseHealthy && st.StableRevision == rev:
		return true, nil
	case st.Phase == rampv1.PhaseDegraded && st.Abort != nil && st.Abort.Revision == rev:
		return true, &ExitError{Code: ExitDegraded, Err: fmt.Errorf("rollout %s/%s is Degraded: %s: %s",
			ro.Namespace, ro.Name, st.Abort.Reason, st.Abort.Message)}
	}
	return false, nil
}

// currentRevision is the hash of the revision that runs the Rollout's pod
// template (or its workload's), "" until the controller has made it.
func (s *statusView) currentRevision(ctx context.Context, ro *rampv1.Rollout) (string, error) {
	tmpl := ro.Spec.Template
	if ref := ro.Spec.WorkloadRef; ref != nil {
		kind, obj, t := ref.NewObject()
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, obj); err != nil {
			return "", notFound(err, kind, ro.Namespace, ref.Name)
		}
		tmpl = t
	}
	if tmpl == nil {
		return "", nil
	}
	if ro.Spec.InPlace() {
		// Its stable revision is the workload's: no ReplicaSet of the
		// Rollout's need run the template.
		return rampv1.TemplateHash(tmpl, ro.Status.CollisionCount), nil
	}
	digest := rampv1.TemplateDigest(tmpl)
	var rss appsv1.ReplicaSetList
	if err := s.c.List(ctx, &rss, client.InNamespace(ro.Namespace)); err != nil {
		return "", err
	}
	for _, rs := range rss.Items {
		if ref := metav1.GetControllerOfNoCopy(&rs); ref != nil && ref.UID == ro.UID &&
			rs.Annotations[rampv1.AnnotationTemplateDigest] == digest {
			return rs.Labels[rampv1.LabelRevision], nil
		}
	}
	return "", nil
}

// requestsHandled reports whether the controller has acted on every
// request annotation (promote, abort, retry) written on the Rollout.
func requestsHandled(ro *rampv1.Rollout) bool {
	h := ro.Status.Handled
	for annotation, handled := range map[string]string{
		rampv1.AnnotationPromote: h.Promote, rampv1.AnnotationPromoteFull: h.PromoteFull,
		rampv1.AnnotationAbort: h.Abort, rampv1.AnnotationRetry: h.Retry,
	} {
		if token, ok := ro.Annotations[annotation]; ok && token != handled {
			return false
		}
	}
	return true
}

// width is the terminal's, else $COLUMNS, else 100.
func (s *statusView) width() int {
	if f, ok := s.o.Out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 100
}
