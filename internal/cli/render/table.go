package render

import (
	"fmt"
	"io"
	"text/tabwriter"

	rampv1 "github.com/rampcd/ramp/api/v1alpha1"
)

// Table writes `ramp get`'s table; withNamespace adds a NAMESPACE column
// (for -A).
func Table(w io.Writer, rollouts []rampv1.Rollout, withNamespace bool, st Style) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if withNamespace {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "NAME\tPHASE\tSTEP\tWEIGHT (ASKED/REACHED)\tSTABLE\tCANARY\tAGE")
	for i := range rollouts {
		ro := &rollouts[i]
		s := ro.Status
		if withNamespace {
			fmt.Fprintf(tw, "%s\t", ro.Namespace)
		}
		step, weight := orDash(s.StepLabel), "-"
		if s.CanaryRevision != "" {
			weight = fmt.Sprintf("%s%%/%s%%", s.Weight.Asked, s.Weight.Reached)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ro.Name, orDash(string(s.Phase)), step, weight,
			orDash(s.StableRevision), orDash(s.CanaryRevision), st.age(ro.CreationTimestamp.Time))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
