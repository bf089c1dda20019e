package fidelity

import (
	"encoding/json"
	"testing"
)

func TestReasonsLevelAndDedupe(t *testing.T) {
	var rs Reasons
	if rs.Level() != Exact {
		t.Error("no reasons must be exact")
	}
	rs.Addf(Exact, "boost_ignored", "boost %d dropped", 2)
	rs.Addf(Approximate, "text_analysis", "tokens")
	rs.Addf(Approximate, "text_analysis", "tokens")
	if len(rs) != 2 {
		t.Errorf("duplicate kept: %v", rs)
	}
	if rs.Level() != Approximate {
		t.Errorf("level %s, want approximate", rs.Level())
	}
	rs.Add(Reason{Code: "a", Message: "m", Level: Unsupported})
	if rs.Level() != Unsupported || rs.Sorted()[0].Code != "a" {
		t.Errorf("level %s, sorted %v", rs.Level(), rs.Sorted())
	}
}

func TestLevelJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		L Level   `json:"l"`
		R Reasons `json:"r"`
	}{L: Approximate})
	if err != nil || string(b) != `{"l":"approximate","r":[]}` {
		t.Errorf("got %s, %v", b, err)
	}
	var l Level
	if err := json.Unmarshal([]byte(`"unsupported"`), &l); err != nil || l != Unsupported {
		t.Errorf("got %v, %v", l, err)
	}
	if err := json.Unmarshal([]byte(`"fine"`), &l); err == nil {
		t.Error("unknown level accepted")
	}
}
