package v1alpha1

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Weight is a share of traffic in percent, from 0 to 100 with up to three
// decimals: 25, 0.5 and 0.125 are weights. In YAML and JSON it is a plain
// number; in Go it is held exactly, in thousandths of a percent, so weight
// arithmetic never meets floating-point rounding.
//
// +kubebuilder:validation:Type=number
type Weight int64

// Weight units.
const (
	// WeightScale is the number of Weight units in one percent.
	WeightScale Weight = 1000
	// FullWeight is 100%.
	FullWeight = 100 * WeightScale
)

// Percent returns the weight for a whole percentage.
func Percent(p int64) Weight { return Weight(p) * WeightScale }

// ParseWeight reads a decimal percentage such as "25" or "0.125".
func ParseWeight(s string) (Weight, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, fmt.Errorf("weight %q is not a number", s)
	}
	r.Mul(r, big.NewRat(int64(WeightScale), 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("weight %q has more than three decimals", s)
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("weight %q is out of range", s)
	}
	return Weight(r.Num().Int64()), nil
}

// String formats the weight as a decimal percentage without trailing zeros.
func (w Weight) String() string {
	sign := ""
	if w < 0 {
		sign, w = "-", -w
	}
	whole, frac := int64(w/WeightScale), int64(w%WeightScale)
	if frac == 0 {
		return sign + strconv.FormatInt(whole, 10)
	}
	return sign + strings.TrimRight(fmt.Sprintf("%d.%03d", whole, frac), "0")
}

// Float returns the weight as a float64 percentage, for display and metrics.
func (w Weight) Float() float64 { return float64(w) / float64(WeightScale) }

// IsWhole reports whether the weight is a whole percentage.
func (w Weight) IsWhole() bool { return w%WeightScale == 0 }

// MarshalJSON writes the weight as a JSON number.
func (w Weight) MarshalJSON() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalJSON reads a JSON number (or a string holding one).
func (w *Weight) UnmarshalJSON(data []byte) error {
	s := string(data)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
	}
	parsed, err := ParseWeight(s)
	if err != nil {
		return err
	}
	*w = parsed
	return nil
}
