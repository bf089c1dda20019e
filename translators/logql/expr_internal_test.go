package logql

import "testing"

func TestPercentToQuantile(t *testing.T) {
	tests := map[float64]string{
		50: "0.5", 99.9: "0.999", 99.99: "0.9999", 95: "0.95", 5: "0.05",
		0.1: "0.001", 100: "1", 0: "0", 150: "1.5", 33.333: "0.33333",
	}
	for p, want := range tests {
		if got := percentToQuantile(p); got != want {
			t.Errorf("percentToQuantile(%v) = %s, want %s", p, got, want)
		}
	}
}
