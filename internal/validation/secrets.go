package validation

import (
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// secretRef is a SecretKeyRef and where it is.
type secretRef struct {
	rampv1.SecretKeyRef
	path *field.Path
}

var secretKeyRefType = reflect.TypeFor[rampv1.SecretKeyRef]()

// findSecretRefs finds every SecretKeyRef in v, a spec or part of one, with
// its path by JSON names. Walking the types rather than listing the fields
// keeps a provider or a hook added later from being missed.
func findSecretRefs(v any, path *field.Path) []secretRef {
	var refs []secretRef
	var walk func(reflect.Value, *field.Path)
	walk = func(v reflect.Value, p *field.Path) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), p)
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i), p.Index(i))
			}
		case reflect.Struct:
			if v.Type() == secretKeyRefType {
				if ref := v.Interface().(rampv1.SecretKeyRef); ref.Name != "" {
					refs = append(refs, secretRef{ref, p})
				}
				return
			}
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				switch {
				case name == "-":
					continue
				case name == "":
					walk(v.Field(i), p) // inline
				default:
					walk(v.Field(i), p.Child(name))
				}
			}
		}
	}
	walk(reflect.ValueOf(v), path)
	return refs
}
