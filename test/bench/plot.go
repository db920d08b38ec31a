package bench

import (
	"fmt"
	"strings"
)

// SoakSVG plots the soak's samples: resident memory (MiB, left scale) and
// goroutines (right scale) over time, each scaled from zero to its
// largest value, the warm-up shaded.
func SoakSVG(s *Soak) string {
	const w, h, left, right, top, bottom = 760, 300, 60, 60, 20, 40
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	peak := func(v func(SoakSample) float64) float64 {
		m := 1.0
		for _, x := range s.Samples {
			m = max(m, v(x))
		}
		return m * 1.1
	}
	rss := func(x SoakSample) float64 { return x.RSSMiB }
	gor := func(x SoakSample) float64 { return x.Goroutines }
	line := func(v func(SoakSample) float64, top float64) string {
		var pts []string
		for _, x := range s.Samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", left+pw*x.Seconds/s.Seconds, float64(h-bottom)-ph*v(x)/top))
		}
		return strings.Join(pts, " ")
	}
	rssTop, gorTop := peak(rss), peak(gor)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="#eee"/>`+"\n", left, top, pw*s.warm()/s.Seconds, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#888">warm-up</text>`+"\n", left+4.0, top+14)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, top, pw, ph)
	for i := 0; i <= 4; i++ {
		y := float64(h-bottom) - ph*float64(i)/4
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#1f77b4">%.0f</text>`+"\n", left-6, y+4, rssTop*float64(i)/4)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#d62728">%.0f</text>`+"\n", w-right+6, y+4, gorTop*float64(i)/4)
	}
	for m := 0.0; m <= s.Seconds/60; m += 5 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f min</text>`+"\n", left+pw*m*60/s.Seconds, h-bottom+16, m)
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="%s"/>`+"\n", line(rss, rssTop))
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#d62728" stroke-width="2" points="%s"/>`+"\n", line(gor, gorTop))
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#1f77b4">resident memory (MiB)</text>`+"\n", left, h-6)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#d62728">goroutines</text>`+"\n", w-right, h-6)
	b.WriteString("</svg>\n")
	return b.String()
}
