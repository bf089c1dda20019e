package elasticsearch

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/internal/recording"
)

// info717Body is a GET / body for Elasticsearch 7.17, written by us from
// the shape of the recorded 8.17.0 body (info__8_17_0_recorded) with the
// version block of a 7.17 release. It is not a recording.
const info717Body = `{
  "name" : "es717-node-1",
  "cluster_name" : "legacy-logs",
  "cluster_uuid" : "Vh2kqkAqTBeTxKJ0W1aJcA",
  "version" : {
    "number" : "7.17.26",
    "build_flavor" : "default",
    "build_type" : "docker",
    "build_hash" : "f40328375bfa289242f942fb3d992032ab662e14",
    "build_date" : "2024-11-28T08:05:55.550508263Z",
    "build_snapshot" : false,
    "lucene_version" : "8.11.3",
    "minimum_wire_compatibility_version" : "6.8.0",
    "minimum_index_compatibility_version" : "6.0.0-beta1"
  },
  "tagline" : "You Know, for Search"
}`

func TestInfo(t *testing.T) {
	recorded817 := load(t, "info__8_17_0_recorded").Response
	tests := []struct {
		name string
		resp *recording.Response
	}{
		{"8.12.1 spec example", load(t, "info__8_12_1_stack").Response},
		{"8.17.0 recorded", recorded817},
		{"9.1.0 spec example", load(t, "info__spec_8_19_branch_stack_9_1_0").Response},
		{"serverless spec example", load(t, "info__serverless").Response},
		{"7.17 written from the 8.17 shape", withBody(recorded817, []byte(info717Body))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Handle("GET", "/", tt.resp)
			c, _ := newTestClient(t, srv.URL, nil)
			info, err := c.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			body := decodeMap(t, tt.resp.Body)
			version := body["version"].(map[string]any)
			if info.ClusterName != body["cluster_name"] || info.Name != body["name"] || info.ClusterUUID != body["cluster_uuid"] {
				t.Errorf("info %+v does not carry the body's names", info)
			}
			if info.Distribution != version["build_flavor"] {
				t.Errorf("distribution %q, want build_flavor %q", info.Distribution, version["build_flavor"])
			}
			wantVersion := version["number"]
			if version["build_flavor"] == "serverless" {
				wantVersion = ""
			}
			if info.Version != wantVersion {
				t.Errorf("version %q, want %q", info.Version, wantVersion)
			}
			if err := info.CheckVersion(); err != nil {
				t.Errorf("CheckVersion: %v", err)
			}
		})
	}
}

func TestInfoCheckVersion(t *testing.T) {
	tests := []struct {
		info Info
		ok   bool
	}{
		{Info{Version: "7.17.0", Distribution: "default"}, true},
		{Info{Version: "8.0.0", Distribution: "default"}, true},
		{Info{Version: "9.1.0", Distribution: "default"}, true},
		{Info{Version: "7.16.3", Distribution: "default"}, false},
		{Info{Version: "6.8.23", Distribution: "default"}, false},
		{Info{Version: "", Distribution: "default"}, false},
		{Info{Version: "", Distribution: "serverless"}, true},
	}
	for _, tt := range tests {
		if err := tt.info.CheckVersion(); (err == nil) != tt.ok {
			t.Errorf("CheckVersion(%+v) = %v, want ok %v", tt.info, err, tt.ok)
		}
	}
}

func TestInfoProductCheck(t *testing.T) {
	ex := load(t, "product_check__missing_header_200")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	_, err := c.Info(context.Background())
	if err == nil {
		t.Fatal("Info succeeded without the X-Elastic-Product header")
	}
	if !strings.Contains(err.Error(), "not Elasticsearch") {
		t.Errorf("error %q does not say the server is not Elasticsearch", err)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	const password = "pw-Zq81!x"
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"basic", func(c *Config) { c.Username, c.Password = "loki_migrator", password }, "Basic " + base64.StdEncoding.EncodeToString([]byte("loki_migrator:"+password))},
		{"api key", func(c *Config) { c.APIKey = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==" }, "APIKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"bearer", func(c *Config) { c.Token = "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuLTE" }, "Bearer AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuLTE"},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Replay(load(t, "info__8_17_0_recorded"))
			c, _ := newTestClient(t, srv.URL, tt.cfg)
			if _, err := c.Info(context.Background()); err != nil {
				t.Fatal(err)
			}
			reqs, _ := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if got := reqs[0].Header.Get("Authorization"); got != tt.want {
				t.Errorf("Authorization %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	const secret = "hunter2-secret"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "no URL"},
		{"no scheme", Config{URLs: []string{"localhost:9200"}}, "invalid URL"},
		{"credentials in URL", Config{URLs: []string{"https://elastic:" + secret + "@es.internal:9200"}}, "carries credentials"},
		{"two auth methods", Config{URLs: []string{"http://127.0.0.1:9200"}, APIKey: "k", Token: "t"}, "more than one"},
		{"password alone", Config{URLs: []string{"http://127.0.0.1:9200"}, Password: secret}, "without username"},
		{"missing CA file", Config{URLs: []string{"https://127.0.0.1:9200"}, TLS: httpx.TLS{CAFile: "/nonexistent/ca.pem"}}, "ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	caFile, clientCert, clientKey string
	server                        tls.Certificate
	pool                          *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	pki := testPKI{pool: x509.NewCertPool()}
	pki.pool.AddCert(caCert)
	pki.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)

	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		template := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	pki.server = tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	pki.clientCert = writePEM(t, dir, "client.pem", "CERTIFICATE", clientDER)
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	pki.clientKey = writePEM(t, dir, "client-key.pem", "PRIVATE KEY", keyDER)
	return pki
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, dir, name, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newMutualTLSServer serves the recorded 8.17.0 GET / over TLS and
// requires a client certificate signed by pki's CA.
func newMutualTLSServer(t *testing.T, pki testPKI) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	info := load(t, "info__8_17_0_recorded").Response
	var served atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		info.Write(w)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.pool,
		MinVersion:   tls.VersionTLS12,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &served
}

func TestTLSWithClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	srv, served := newMutualTLSServer(t, pki)
	c, _ := newTestClient(t, srv.URL, func(c *Config) {
		c.TLS = httpx.TLS{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}
	})
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Version == "" || served.Load() != 1 {
		t.Errorf("info %+v after %d requests, want the recorded version after 1", info, served.Load())
	}
}

func TestTLSWithoutCAFails(t *testing.T) {
	pki := newTestPKI(t)
	srv, served := newMutualTLSServer(t, pki)
	c, rec := newTestClient(t, srv.URL, func(c *Config) {
		c.TLS = httpx.TLS{CertFile: pki.clientCert, KeyFile: pki.clientKey}
	})
	_, err := c.Info(context.Background())
	if err == nil {
		t.Fatal("Info succeeded against a server signed by an unknown CA")
	}
	if !httpx.IsTLS(err) {
		t.Errorf("IsTLS(%v) = false, want true", err)
	}
	if served.Load() != 0 || len(rec.all()) != 0 {
		t.Errorf("%d requests served and %d retries, want none", served.Load(), len(rec.all()))
	}
}

func TestTLSWithoutClientCertificateFails(t *testing.T) {
	pki := newTestPKI(t)
	srv, served := newMutualTLSServer(t, pki)
	c, rec := newTestClient(t, srv.URL, func(c *Config) { c.TLS = httpx.TLS{CAFile: pki.caFile} })
	_, err := c.Info(context.Background())
	if err == nil {
		t.Fatal("Info succeeded without the client certificate the server requires")
	}
	if served.Load() != 0 || len(rec.all()) != 0 {
		t.Errorf("%d requests served and %d retries, want none: a rejected certificate cannot heal", served.Load(), len(rec.all()))
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	rejected := load(t, "error__es_rejected_execution_429_bulk").Response
	count := load(t, "count__term_query")
	srv := recording.NewServer(t)
	srv.Handle("POST", "/my-index-000001/_count", withHeader(rejected, "Retry-After", "3"), count.Response)
	c, rec := newTestClient(t, srv.URL, nil)

	n, err := c.Count(context.Background(), "my-index-000001", json.RawMessage(`{"term":{"user.id":"kimchy"}}`), "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := decodeMap(t, count.Response.Body)["count"]; fmt.Sprint(n) != fmt.Sprint(want) {
		t.Errorf("count %d, want the recorded %v", n, want)
	}
	waits := rec.all()
	if len(waits) != 1 || waits[0] < 3*time.Second {
		t.Errorf("waits %v, want one of at least the Retry-After of 3s", waits)
	}
	_, bodies := srv.Requests()
	if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) || len(bodies[0]) == 0 {
		t.Errorf("request bodies %q, want the same body twice", bodies)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, srv.URL, func(c *Config) {
		c.Timeout = 100 * time.Millisecond
		c.MaxAttempts = 2
	})
	_, err := c.Info(context.Background())
	if err == nil {
		t.Fatal("Info succeeded against a server that never answers")
	}
	if !httpx.IsTimeout(err) {
		t.Errorf("IsTimeout(%v) = false, want true", err)
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	const user, password = "loki_migrator", "pw-Zq81!x-never-shown"
	encoded := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))
	auth := func(c *Config) {
		c.Username, c.Password = user, password
		c.Logger = logger
		c.Timeout = 200 * time.Millisecond
	}

	var errs []error
	collect := func(name string, err error) {
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		errs = append(errs, err)
	}

	// Recorded 401, 403 and 429 responses.
	srv := recording.NewServer(t)
	srv.Handle("GET", "/", load(t, "error__security_exception_401_bad_credentials").Response)
	srv.Handle("POST", "/secret-logs-000001/_count", load(t, "error__security_exception_403_unauthorized_index").Response)
	srv.Handle("POST", "/busy/_count", load(t, "error__es_rejected_execution_429_bulk").Response)
	c, _ := newTestClient(t, srv.URL, auth)
	_, err := c.Info(context.Background())
	collect("401", err)
	_, err = c.Count(context.Background(), "secret-logs-000001", nil, "", time.Time{}, time.Time{})
	collect("403", err)
	_, err = c.Count(context.Background(), "busy", nil, "", time.Time{}, time.Time{})
	collect("429", err)

	// No server listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	c, _ = newTestClient(t, "http://"+closedAddr, auth)
	_, err = c.Info(context.Background())
	collect("connection refused", err)

	// TLS failure and timeout.
	pki := newTestPKI(t)
	tlsSrv, _ := newMutualTLSServer(t, pki)
	c, _ = newTestClient(t, tlsSrv.URL, auth)
	_, err = c.Info(context.Background())
	collect("TLS", err)
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	c, _ = newTestClient(t, hang.URL, auth)
	_, err = c.Info(context.Background())
	collect("timeout", err)

	// Credentials in the URL.
	_, err = New(Config{URLs: []string{"http://" + user + ":" + password + "@" + closedAddr}})
	collect("URL with credentials", err)

	for _, err := range errs {
		text := err.Error()
		if strings.Contains(text, password) || strings.Contains(text, encoded) {
			t.Errorf("error contains the credentials: %s", text)
		}
	}
	if !strings.Contains(logs.String(), "retrying request") {
		t.Errorf("no retry was logged: %q", logs.String())
	}
	if strings.Contains(logs.String(), password) || strings.Contains(logs.String(), encoded) {
		t.Errorf("the log contains the credentials: %s", logs.String())
	}
}

// lockedWriter serialises writes, for a logger shared by concurrent
// requests.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestErrorsAsTypedError(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Handle("POST", "/foo/_count", load(t, "error__index_not_found_404").Response)
	c, _ := newTestClient(t, srv.URL, nil)
	_, err := c.Count(context.Background(), "foo", nil, "", time.Time{}, time.Time{})
	var esErr *Error
	if !errors.As(err, &esErr) {
		t.Fatalf("Count = %v, want an *Error", err)
	}
	if esErr.Op != "POST /foo/_count" {
		t.Errorf("op %q, want POST /foo/_count", esErr.Op)
	}
}
