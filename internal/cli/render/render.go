// Package render draws rollouts for people: the `ramp get` table and the
// `ramp status` tree. It only formats what it is given, so that its output
// is tested with golden files at a fixed clock and width.
package render

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Style is how to draw.
type Style struct {
	// Width of the terminal, in columns.
	Width int
	// Color uses ANSI colours.
	Color bool
	// Now is the time ages are counted to.
	Now time.Time
}

// ANSI colours.
const (
	reset  = "\x1b[0m"
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	blue   = "\x1b[34m"
)

func (s Style) paint(code, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return code + text + reset
}

// age is kubectl's way of saying how old something is.
func (s Style) age(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(s.Now.Sub(t))
}

// fit cuts text to n visible columns, marking the cut; ANSI colour codes
// take no column and are never cut through.
func fit(text string, n int) string {
	if n <= 0 || visible(text) <= n {
		return text
	}
	var b strings.Builder
	cols, colored := 0, false
	for i := 0; i < len(text); {
		if strings.HasPrefix(text[i:], "\x1b[") {
			end := strings.IndexByte(text[i:], 'm')
			if end < 0 {
				break
			}
			b.WriteString(text[i : i+end+1])
			colored = true
			i += end + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if cols == n-1 {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		cols++
		i += size
	}
	if colored {
		b.WriteString(reset)
	}
	return b.String()
}

// visible counts the columns of text, not its colour codes.
func visible(text string) int {
	n := 0
	for i := 0; i < len(text); {
		if strings.HasPrefix(text[i:], "\x1b[") {
			if end := strings.IndexByte(text[i:], 'm'); end >= 0 {
				i += end + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		n++
		i += size
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func pad(text string, n int) string {
	if w := len([]rune(text)); w < n {
		return text + strings.Repeat(" ", n-w)
	}
	return text
}
