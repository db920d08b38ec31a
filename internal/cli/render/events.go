package render

import (
	"slices"
	"time"

	eventsv1 "k8s.io/api/events/v1"
)

// eventTime is when an event last happened.
func eventTime(ev *eventsv1.Event) time.Time {
	switch {
	case ev.Series != nil:
		return ev.Series.LastObservedTime.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	case !ev.DeprecatedLastTimestamp.IsZero():
		return ev.DeprecatedLastTimestamp.Time
	}
	return ev.CreationTimestamp.Time
}

// SortEvents orders events oldest first.
func SortEvents(evs []eventsv1.Event) {
	slices.SortStableFunc(evs, func(a, b eventsv1.Event) int { return eventTime(&a).Compare(eventTime(&b)) })
}
