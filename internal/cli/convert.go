package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/rampcd/ramp/internal/convert"
	"github.com/rampcd/ramp/internal/lint"
)

// Exit codes of `ramp convert`.
const (
	// ExitRefused: a field of an Argo object could not be converted.
	ExitRefused = 1
	// ExitBadInput: a file could not be read, or a document is not YAML.
	ExitBadInput = 2
)

func newCmdConvert(o *Options) *cobra.Command {
	var (
		files                  []string
		output                 string
		cluster, allNamespaces bool
	)
	cmd := &cobra.Command{
		Use:   "convert (-f FILE... | --cluster [-A]) [-o FILE]",
		Short: "Convert Argo Rollouts' manifests to Ramp's",
		Long: `Convert Argo Rollouts' manifests (argoproj.io/v1alpha1 Rollout,
AnalysisTemplate, ClusterAnalysisTemplate) into Ramp's (ramp.dev/v1alpha1),
and write every document as YAML: converted objects, and objects of other
kinds (Services, Ingresses, ...) as they were, so the output is a complete
set of manifests. Nothing is written to a cluster.

Every field of an Argo object is mapped, or refused with its path, the
reason and what to do instead: an object with a refused field is left out
of the output, since converting the rest would change what it does. Argo's
status and the fields the API server sets are dropped. Conditions are
translated from Argo's expression language to CEL where the meaning is the
same; any other condition is refused. Converted objects are checked with
the checks of 'ramp lint'. docs/migrating.md lists every field.

Ramp needs the root Service clients call (spec.service), which Argo names
only for SMI: with Istio or Gateway API, give the DestinationRule or the
HTTPRoute beside the Rollout, or annotate the Argo Rollout with
ramp.dev/service: <name>.

With --cluster, the Argo objects are read from the cluster instead: the
namespace's Rollouts and AnalysisTemplates (every namespace's with -A) and
the ClusterAnalysisTemplates, with the DestinationRules, HTTPRoutes and
Deployments beside them to fill in what a Rollout leaves unsaid; only the
converted objects are written. Nothing in the cluster changes: apply the
output yourself (docs/migrating.md).

Exit status: 0 when everything was converted, 1 when a field was refused
(the count is printed), 2 when a file cannot be read or is not YAML.`,
		Example: `  ramp convert -f rollout.yaml
  ramp convert -f argo/ -f services.yaml -o ramp.yaml
  ramp convert --cluster -n shop > shop-ramp.yaml
  kustomize build overlays/prod | ramp convert -f - > ramp.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				docs     []document
				readOnly []bool
				err      error
			)
			switch {
			case cluster && len(files) > 0:
				return &ExitError{Code: ExitBadInput, Err: errors.New("--cluster and -f both name what to convert: give one")}
			case cluster:
				c, ns, err := o.Connect()
				if err != nil {
					return err
				}
				if allNamespaces {
					ns = ""
				}
				if docs, readOnly, err = clusterDocuments(cmd.Context(), c, ns); err != nil {
					return err
				}
			case allNamespaces:
				return &ExitError{Code: ExitBadInput, Err: errors.New("-A reads every namespace of the cluster: it goes with --cluster")}
			case len(files) == 0:
				return &ExitError{Code: ExitBadInput, Err: errors.New("give the manifests to convert with -f FILE (a file, a folder, or - for standard input), or read them from the cluster with --cluster")}
			default:
				if docs, err = readDocuments(files); err != nil {
					return &ExitError{Code: ExitBadInput, Err: err}
				}
			}
			bad := 0
			var objs []*unstructured.Unstructured
			var where []document
			var skip []bool
			for i, d := range docs {
				if d.Err != nil {
					fmt.Fprintf(o.ErrOut, "%s: %v\n", d.where(), d.Err)
					bad++
					continue
				}
				objs = append(objs, d.Object)
				where = append(where, d)
				skip = append(skip, readOnly != nil && readOnly[i])
			}
			if bad > 0 {
				return &ExitError{Code: ExitBadInput, Err: fmt.Errorf("%d document(s) could not be read; nothing converted", bad)}
			}
			schemas, err := lint.LoadSchemas()
			if err != nil {
				return err
			}
			var out bytes.Buffer
			stats, err := writeConverted(cmd, o.ErrOut, &out, schemas, where, skip, convert.Objects(objs))
			if err != nil {
				return err
			}
			if err := writeOutput(o.Out, output, out.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(o.ErrOut, "%d converted, %d passed through, %d refused\n", stats.converted, stats.passed, stats.refused)
			if stats.refused > 0 {
				return &ExitError{Code: ExitRefused, Err: fmt.Errorf("%d object(s) not converted: %d field(s) refused (above); they are left out of the output", stats.refused, stats.fields)}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "a manifest file, a folder of them (.yaml, .yml, .json), or - for standard input")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the manifests to this file instead of standard output")
	cmd.Flags().BoolVar(&cluster, "cluster", false, "read Argo's objects from the cluster (the namespace of -n or the kubeconfig) instead of files")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "with --cluster, read every namespace")
	return cmd
}

type convertStats struct{ converted, passed, refused, fields int }

// writeConverted writes each object that came out, as a YAML document,
// and reports on errOut the fields of those that did not. Converted
// objects go through Ramp's own checks: an object Ramp would refuse is
// reported, not written. Objects read only to help (skip) are not written.
func writeConverted(cmd *cobra.Command, errOut, out io.Writer, schemas *lint.Schemas, where []document, skip []bool, results []convert.Object) (convertStats, error) {
	var s convertStats
	for i, r := range results {
		if skip[i] {
			continue
		}
		problems := r.Problems
		if r.Converted && r.Out != nil {
			errs := schemas.Validate(cmd.Context(), r.Out)
			if len(errs) == 0 {
				errs = semantics(r.Out)
			}
			for _, e := range errs {
				problems = append(problems, convert.Problem{Path: "(Ramp's " + r.Out.GetKind() + ")", Reason: e.Error() + " (a fault of ramp convert; please report it)"})
			}
		}
		if len(problems) > 0 {
			s.refused++
			s.fields += len(problems)
			for _, p := range problems {
				fmt.Fprintf(errOut, "%s: %s\n", where[i].where(), p)
			}
			continue
		}
		if r.Converted {
			s.converted++
		} else {
			s.passed++
		}
		data, err := yaml.Marshal(r.Out.Object)
		if err != nil {
			return s, fmt.Errorf("%s: %w", where[i].where(), err)
		}
		fmt.Fprintf(out, "---\n%s", data)
	}
	return s, nil
}

func writeOutput(w io.Writer, path string, data []byte) error {
	if path == "" {
		_, err := w.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
