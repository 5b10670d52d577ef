package alertdb

import (
	"testing"
)

func TestTimeRange(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, "")
	if _, _, ok, err := s.TimeRange(ctx); err != nil || ok {
		t.Fatalf("empty store: ok %v, err %v; want no range", ok, err)
	}
	alerts := genAll(genConfig{Alerts: 800, Sources: 30, Days: 4, Seed: 3, NoSource: 0.2, SameSecond: 0.2})
	importAll(t, s, "alerts.log", alerts, 300)
	wantFirst, wantLast := alerts[0].Time, alerts[0].Time
	for _, a := range alerts {
		if a.Time.Before(wantFirst) {
			wantFirst = a.Time
		}
		if a.Time.After(wantLast) {
			wantLast = a.Time
		}
	}
	first, last, ok, err := s.TimeRange(ctx)
	if err != nil || !ok {
		t.Fatalf("TimeRange: ok %v, err %v", ok, err)
	}
	if !first.Equal(wantFirst) || !last.Equal(wantLast) {
		t.Errorf("TimeRange = %v, %v; want %v, %v", first, last, wantFirst, wantLast)
	}
}
