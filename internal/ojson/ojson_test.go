package ojson

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRoundTripCorpus decodes and encodes every real Grafana dashboard and
// checks that nothing changed: the same values, keys in the same order and
// numbers with the same text.
func TestRoundTripCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/grafana/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboards found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var want, got any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: the encoding is not JSON: %v", f, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: values changed in the round trip", f)
		}
		again, _ := Decode(out)
		out2, _ := Encode(again)
		if !bytes.Equal(out, out2) {
			t.Errorf("%s: a second round trip changed the text", f)
		}
	}
}

func TestKeepsOrderAndNumbers(t *testing.T) {
	in := `{"z": 1.0, "a": [1e3, -0, 12345678901234567890], "m": {"y": "<&>", "b": null}}`
	v, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Encode(v)
	flat := strings.Join(strings.Fields(string(out)), "")
	if want := `{"z":1.0,"a":[1e3,-0,12345678901234567890],"m":{"y":"<&>","b":null}}`; flat != want {
		t.Errorf("got %s, want %s", flat, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := Decode([]byte("{\"a\": \"\xff\"}")); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	if _, err := Decode([]byte(`{"a": 1} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if _, err := Decode([]byte(deep)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("error %v, want ErrTooDeep", err)
	}
}

func TestObjectEdits(t *testing.T) {
	o := NewObject()
	o.Set("a", "1")
	o.Set("b", "2")
	o.Set("a", "3")
	o.Delete("b")
	o.Set("c", nil)
	if got := strings.Join(o.Keys(), ","); got != "a,c" || o.String("a") != "3" {
		t.Errorf("keys %s, a=%s", got, o.String("a"))
	}
}
