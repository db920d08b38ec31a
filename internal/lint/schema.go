// Package lint validates Ramp's objects offline, as the API server would:
// against the CRDs' OpenAPI schemas and CEL rules, with their defaults
// applied and unknown fields reported.
package lint

import (
	"context"
	"fmt"
	"io/fs"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/rampcd/ramp/config/crd"
)

// Schemas validates the kinds of Ramp's CRDs.
type Schemas struct {
	kinds map[schema.GroupVersionKind]*kindSchema
}

type kindSchema struct {
	validator  validation.SchemaValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

// LoadSchemas reads the CRDs built into the binary.
func LoadSchemas() (*Schemas, error) {
	files, err := fs.Glob(crd.Bases, "bases/*.yaml")
	if err != nil {
		return nil, err
	}
	s := &Schemas{kinds: map[schema.GroupVersionKind]*kindSchema{}}
	for _, f := range files {
		data, err := fs.ReadFile(crd.Bases, f)
		if err != nil {
			return nil, err
		}
		c := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range c.Spec.Versions {
			k, err := compile(v.Schema.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s version %s: %w", f, v.Name, err)
			}
			s.kinds[schema.GroupVersionKind{Group: c.Spec.Group, Version: v.Name, Kind: c.Spec.Names.Kind}] = k
		}
	}
	return s, nil
}

func compile(v1 *apiextensionsv1.JSONSchemaProps) (*kindSchema, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, internal, nil); err != nil {
		return nil, err
	}
	validator, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, err
	}
	return &kindSchema{validator: validator, structural: structural, cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
}

// Knows reports whether gvk is one of Ramp's kinds.
func (s *Schemas) Knows(gvk schema.GroupVersionKind) bool { return s.kinds[gvk] != nil }

// Validate checks obj as the API server would on create: unknown fields,
// then the schema and the CEL rules with the defaults applied.
func (s *Schemas) Validate(ctx context.Context, obj *unstructured.Unstructured) field.ErrorList {
	k := s.kinds[obj.GroupVersionKind()]
	if k == nil {
		return field.ErrorList{field.Invalid(field.NewPath("apiVersion"), obj.GetAPIVersion(), "not a kind of Ramp's")}
	}
	var errs field.ErrorList
	doc := obj.DeepCopy().Object
	unknown := pruning.PruneWithOptions(doc, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(path), "", "unknown field: not in the schema (a typo, or a field of another version?)"))
	}
	structuraldefaulting.Default(doc, k.structural)
	errs = append(errs, validation.ValidateCustomResource(nil, doc, k.validator)...)
	celErrs, _ := k.cel.Validate(ctx, nil, k.structural, doc, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}
