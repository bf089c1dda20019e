package recording

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadEveryRecording(t *testing.T) {
	for _, dir := range []string{"loki-3.7.6", "tempo-3.0.3", "jaeger-1.75.0", "elasticsearch-8"} {
		names, err := filepath.Glob(filepath.Join(Dir(dir), "*.json"))
		if err != nil || len(names) == 0 {
			t.Fatalf("%s: no recordings found (%v)", dir, err)
		}
		for _, name := range names {
			ex, err := Load(name)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			if ex.Request.Method == "" || !strings.HasPrefix(ex.Request.Path, "/") {
				t.Errorf("%s: request has method %q path %q", name, ex.Request.Method, ex.Request.Path)
			}
			if ex.Response != nil && ex.Response.Status < 100 {
				t.Errorf("%s: response status %d", name, ex.Response.Status)
			}
		}
	}
}

func TestLoadBinaryBody(t *testing.T) {
	ex := MustLoad(t, "loki-3.7.6", "push_protobuf_snappy_ok")
	if ex.Request.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Errorf("Content-Type = %q", ex.Request.Header.Get("Content-Type"))
	}
	if len(ex.Request.Body) == 0 || strings.HasPrefix(string(ex.Request.Body), "{") {
		t.Errorf("body was not decoded from base64: %q", ex.Request.Body[:min(20, len(ex.Request.Body))])
	}
}

func TestServerPlaysInOrder(t *testing.T) {
	s := NewServer(t)
	s.Handle("GET", "/x", &Response{Status: 429}, &Response{Status: 200, Body: []byte("ok")})
	for i, want := range []int{429, 200, 200} {
		resp, err := http.Get(s.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	resp, err := http.Get(s.URL + "/missing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("unknown route: status %d", resp.StatusCode)
	}
	if _, err := os.Stat(Dir("loki-3.7.6")); err != nil {
		t.Error(err)
	}
}
