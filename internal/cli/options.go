package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rampcd/ramp/internal/scheme"
)

// Options are what every user command shares: kubectl's connection flags
// (--kubeconfig, --context, -n, ...), the output streams and a clock.
type Options struct {
	Flags       *genericclioptions.ConfigFlags
	Out, ErrOut io.Writer
	Now         func() time.Time
}

// NewOptions returns options writing to the process's streams.
func NewOptions() *Options {
	return &Options{Flags: genericclioptions.NewConfigFlags(true), Out: os.Stdout, ErrOut: os.Stderr, Now: time.Now}
}

// Client connects to the cluster the flags name.
func (o *Options) Client() (client.WithWatch, error) {
	cfg, err := o.Flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "ramp-cli"
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
}

// Namespace is -n, else the kubeconfig context's, else "default".
func (o *Options) Namespace() (string, error) {
	ns, _, err := o.Flags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// Connect returns a client and the namespace to work in.
func (o *Options) Connect() (client.WithWatch, string, error) {
	c, err := o.Client()
	if err != nil {
		return nil, "", err
	}
	ns, err := o.Namespace()
	return c, ns, err
}

// terminal reports whether w is a terminal (colour and redraws).
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
