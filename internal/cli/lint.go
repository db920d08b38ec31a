package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
	"github.com/rampcd/ramp/internal/lint"
	"github.com/rampcd/ramp/internal/manifest"
	"github.com/rampcd/ramp/internal/scheme"
	"github.com/rampcd/ramp/internal/validation"
)

func newCmdLint(o *Options) *cobra.Command {
	var (
		files   []string
		cluster bool
	)
	cmd := &cobra.Command{
		Use:   "lint -f FILE...",
		Short: "Check manifests before you apply them",
		Long: `Check Ramp's objects (Rollouts, analysis templates) offline, with the
code the API server and Ramp's admission webhook run: the CRDs' schemas and
rules, then what a schema cannot see (a selector that misses its pod
template; webhook URLs and bodies that would not render; conditions that are
not CEL; query templates that do not parse or name a value no run gives).
Every problem of every document is listed, each with the file, the document
and the field.

With --cluster, every document (Ramp's or not) is also sent to the cluster as
a server-side dry run, which checks what only the cluster knows (other kinds,
admission policies, RBAC), and each Rollout's references are resolved, in the
documents given first and then in the cluster: analysis templates (found,
valid, given all their arguments), Secrets and their keys, the adopted
Deployment, the root Service and the routing objects.

Exit status: 0 when every document passes, 1 when any problem is found.`,
		Example: `  ramp lint -f rollout.yaml
  ramp lint -f deploy/ -f extra.yaml --cluster
  kustomize build overlays/prod | ramp lint -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("give the manifests to check with -f FILE (a file, a folder, or - for standard input)")
			}
			schemas, err := lint.LoadSchemas()
			if err != nil {
				return err
			}
			var c client.Client
			ns := ""
			if cluster {
				if c, err = o.Client(); err != nil {
					return err
				}
				if ns, err = o.Namespace(); err != nil {
					return err
				}
			}
			docs, err := readDocuments(files)
			if err != nil {
				return err
			}
			problems := 0
			for _, d := range docs {
				where := d.where()
				if d.Err != nil {
					fmt.Fprintf(o.Out, "%s: %v\n", where, d.Err)
					problems++
					continue
				}
				gvk := d.Object.GroupVersionKind()
				if gvk.Group == rampv1.GroupVersion.Group && !schemas.Knows(gvk) {
					fmt.Fprintf(o.Out, "%s: apiVersion %s, kind %s: not a kind of Ramp's (Rollout, AnalysisTemplate, ClusterAnalysisTemplate at %s)\n",
						where, d.Object.GetAPIVersion(), gvk.Kind, rampv1.GroupVersion)
					problems++
				}
				if schemas.Knows(gvk) {
					errs := schemas.Validate(cmd.Context(), d.Object)
					if len(errs) == 0 {
						errs = semantics(d.Object)
					}
					if len(errs) == 0 && c != nil && gvk.Kind == "Rollout" {
						found, err := references(cmd.Context(), withDocuments{Reader: c, docs: docs, ns: ns}, c.RESTMapper(), d.Object, ns)
						if err != nil {
							// Rights, a cluster that does not answer: this
							// document's problem, the others are checked.
							found = append(found, field.InternalError(field.NewPath("spec"),
								fmt.Errorf("what the Rollout names could not all be checked: %w", err)))
						}
						errs = found
					}
					for _, e := range errs {
						fmt.Fprintf(o.Out, "%s: %s\n", where, e.Error())
						problems++
					}
				}
				if c != nil {
					if err := dryRun(cmd, c, d.Object, ns); err != nil {
						fmt.Fprintf(o.Out, "%s: the cluster refuses it: %v\n", where, err)
						problems++
					}
				}
			}
			if problems > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d problem(s) in %d document(s)", problems, len(docs))}
			}
			fmt.Fprintf(o.Out, "%d document(s) OK\n", len(docs))
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "a manifest file, a folder of them (.yaml, .yml, .json), or - for standard input")
	cmd.Flags().BoolVar(&cluster, "cluster", false, "also check every document with a server-side dry run on the cluster")
	return cmd
}

// semantics finds in an object of Ramp's, valid by its schema, what
// admission refuses too: a selector that misses the pod template, webhook
// templates that would not render, conditions that are not CEL, query
// templates that do not parse or name a value no run gives.
func semantics(obj *unstructured.Unstructured) field.ErrorList {
	switch obj.GetKind() {
	case "Rollout":
		ro := &rampv1.Rollout{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, ro); err != nil {
			return field.ErrorList{field.Invalid(field.NewPath("spec"), "", err.Error())}
		}
		return validation.Rollout(ro)
	case "AnalysisTemplate", "ClusterAnalysisTemplate":
		raw, _ := obj.Object["spec"].(map[string]any)
		spec := &rampv1.AnalysisTemplateSpec{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, spec); err != nil {
			return field.ErrorList{field.Invalid(field.NewPath("spec"), "", err.Error())}
		}
		return validation.AnalysisTemplate(spec)
	}
	return nil
}

// references resolves what a Rollout names, in the documents being
// checked and then in the cluster: templates, their arguments, Secrets,
// the adopted Deployment, the root Service and routing objects.
func references(ctx context.Context, r client.Reader, mapper meta.RESTMapper, obj *unstructured.Unstructured, ns string) (field.ErrorList, error) {
	ro := &rampv1.Rollout{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, ro); err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("spec"), "", err.Error())}, nil
	}
	if ro.Namespace == "" {
		ro.Namespace = ns
	}
	resolved, err := validation.Resolve(ctx, r, ro)
	if err != nil {
		return nil, err
	}
	routing, err := validation.Routing(ctx, r, mapper, ro)
	return append(resolved, routing...), err
}

// withDocuments reads the documents being checked before the cluster:
// a Rollout may name a template or Service applied along with it.
type withDocuments struct {
	client.Reader
	docs []document
	ns   string
}

func (w withDocuments) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	gvk, err := apiutil.GVKForObject(obj, scheme.New())
	if err != nil {
		return err
	}
	for _, d := range w.docs {
		u := d.Object
		if u == nil || u.GroupVersionKind().GroupKind() != gvk.GroupKind() || u.GetName() != key.Name {
			continue
		}
		if ns := cmp.Or(u.GetNamespace(), w.ns); key.Namespace != "" && ns != key.Namespace {
			continue
		}
		if into, ok := obj.(*unstructured.Unstructured); ok {
			u.DeepCopyInto(into)
			return nil
		}
		return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj)
	}
	return w.Reader.Get(ctx, key, obj, opts...)
}

// document is one YAML document of a file.
type document struct {
	file string
	manifest.Document
}

func (d document) where() string {
	s := fmt.Sprintf("%s: document %d", d.file, d.Index)
	if d.Object != nil && d.Object.GetKind() != "" {
		s += fmt.Sprintf(" (%s %s)", d.Object.GetKind(), d.Object.GetName())
	}
	return s
}

// readDocuments splits files (and the files of folders; - is standard
// input) into documents.
func readDocuments(paths []string) ([]document, error) {
	var docs []document
	for _, p := range paths {
		files := []string{p}
		if p != "-" {
			var err error
			if files, err = manifest.Files(p); err != nil {
				return nil, err
			}
		}
		for _, f := range files {
			var data []byte
			var err error
			if f == "-" {
				data, err = io.ReadAll(os.Stdin)
				f = "<stdin>"
			} else {
				data, err = os.ReadFile(f)
			}
			if err != nil {
				return nil, err
			}
			for _, d := range manifest.Documents(data) {
				docs = append(docs, document{file: f, Document: d})
			}
		}
	}
	return docs, nil
}

// dryRun applies obj on the cluster without persisting it.
func dryRun(cmd *cobra.Command, c client.Client, obj *unstructured.Unstructured, ns string) error {
	obj = obj.DeepCopy()
	if obj.GetNamespace() == "" {
		if namespaced, err := c.IsObjectNamespaced(obj); err == nil && namespaced {
			obj.SetNamespace(ns)
		}
	}
	return c.Apply(cmd.Context(), client.ApplyConfigurationFromUnstructured(obj),
		client.DryRunAll, client.FieldOwner("ramp-lint"), client.ForceOwnership)
}
