package ojson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/internal/ojson"
)

// FuzzDecode checks that whatever decodes re-encodes to valid JSON with
// the same meaning as the standard library's reading of the input, and
// that encoding is stable.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":[1.50,"x",null,true,{"c":{}}]}`,
		`[]`, `"\u00e9\ud83d\ude00"`, `{"a":1,"a":2}`, `1e400`, `{"x":"<&>"}`,
		`{"deep":[[[[[[[[[[1]]]]]]]]]]}`, `"\ud800x"`, `-0.0e+1`, ` [ 1 , 2 ] `, `{"a":"\/\b\f"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ojson.Decode(data)
		if err != nil {
			// Whatever encoding/json reads as valid UTF-8 must be read.
			if _, stdErr := stdDecode(data); stdErr == nil && utf8.Valid(data) && !errors.Is(err, ojson.ErrTooDeep) {
				t.Fatalf("rejected valid JSON: %v", err)
			}
			return
		}
		out, err := ojson.Encode(v)
		if err != nil {
			t.Fatalf("decoded but cannot encode: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON written: %s", out)
		}
		want, err := stdDecode(data)
		if err != nil {
			t.Fatalf("ojson accepted what encoding/json rejects: %v", err)
		}
		got, err := stdDecode(out)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("meaning changed:\n in: %s\nout: %s", data, out)
		}
		v2, err := ojson.Decode(out)
		if err != nil {
			t.Fatalf("cannot read what it wrote: %v", err)
		}
		again, _ := ojson.Encode(v2)
		if !bytes.Equal(out, again) {
			t.Fatalf("encoding is not stable:\n%s\n%s", out, again)
		}
	})
}

// stdDecode reads JSON with the standard library, numbers as text.
func stdDecode(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
