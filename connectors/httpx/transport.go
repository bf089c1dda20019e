package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// RetryTransport is an http.RoundTripper that retries, for clients that
// build their own requests (such as go-elasticsearch) and so cannot use
// Client.Do. It buffers the request body once and resends those bytes on
// every attempt, bounds each attempt with Timeout, and retries 429, 502,
// 503 and 504 responses and transport errors other than TLS failures, with
// jittered exponential backoff that honours Retry-After. It retries every
// method, so it suits idempotent requests.
//
// Every other status is returned at once. When the attempts run out, the
// last response is returned with its body, so the caller can decode the
// server's error. A zero field takes the Client default of the same name.
type RetryTransport struct {
	// Base sends each attempt. Nil means http.DefaultTransport.
	Base http.RoundTripper
	// System names the server in errors and logs: "elasticsearch".
	System string
	// Timeout bounds each attempt, from sending to closing the response
	// body.
	Timeout       time.Duration
	MaxAttempts   int
	MinBackoff    time.Duration
	MaxBackoff    time.Duration
	MaxRetryAfter time.Duration
	// MaxBody bounds the bytes read from the body of a retryable response.
	MaxBody int64
	// Permanent reports whether a response with a retryable status should
	// be returned at once after all, judged from its body. Elasticsearch
	// returns 503 for a too_many_buckets_exception, which fails again on
	// every attempt.
	Permanent func(status int, header http.Header, body []byte) bool
	// Sleep waits between attempts. Tests replace it to run without delay.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one warning per retry. Nil disables logging.
	Logger *slog.Logger
}

// RetryableStatus reports whether RetryTransport retries a response with
// status: 429, 502, 503 or 504. A 500 is not retried, because
// Elasticsearch returns 500 for failures that repeat on every attempt.
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RoundTrip sends req, retrying as the type's documentation describes. It
// returns a *TransportError when no attempt got a response.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readRequestBody(req)
	if err != nil {
		return nil, t.transportError(req, 1, err)
	}
	maxAttempts := orDefault(t.MaxAttempts, DefaultMaxAttempts)
	for attempt := 1; ; attempt++ {
		resp, data, err := t.attempt(req, body)
		var wait time.Duration
		if err != nil {
			if !t.retryableError(req, err) || attempt >= maxAttempts {
				return nil, t.transportError(req, attempt, err)
			}
		} else {
			retryAfter, retry := t.retryDelay(resp, data)
			if !retry || attempt >= maxAttempts {
				return resp, nil
			}
			wait = retryAfter
		}

		backoff := jitteredBackoff(attempt, orDefault(t.MinBackoff, DefaultMinBackoff), orDefault(t.MaxBackoff, DefaultMaxBackoff))
		wait = max(wait, backoff)
		t.logRetry(req, attempt, resp, err, wait)
		sleepFunc := t.Sleep
		if sleepFunc == nil {
			sleepFunc = sleep
		}
		if sleepErr := sleepFunc(req.Context(), wait); sleepErr != nil {
			// The caller's context ended: return what the last attempt got.
			if resp != nil {
				return resp, nil
			}
			return nil, t.transportError(req, attempt, err)
		}
	}
}

// retryableError reports whether a request that got no response may be sent
// again: not when the caller's context ended, and not after a TLS failure.
func (t *RetryTransport) retryableError(req *http.Request, err error) bool {
	return req.Context().Err() == nil && !IsTLS(err) && !IsTimeout(err)
}

// retryDelay returns the wait that a response's Retry-After requests and
// whether to retry the response. It returns false for a status that is not
// retryable, a response that Permanent rejects, and a Retry-After longer
// than MaxRetryAfter.
func (t *RetryTransport) retryDelay(resp *http.Response, data []byte) (time.Duration, bool) {
	if !RetryableStatus(resp.StatusCode) {
		return 0, false
	}
	if t.Permanent != nil && t.Permanent(resp.StatusCode, resp.Header, data) {
		return 0, false
	}
	retryAfter, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if retryAfter > orDefault(t.MaxRetryAfter, DefaultMaxRetryAfter) {
		return 0, false
	}
	return retryAfter, true
}

func (t *RetryTransport) transportError(req *http.Request, attempts int, err error) error {
	return &TransportError{System: t.system(), Method: req.Method, URL: Redact(req.URL.String()), Attempts: attempts, Err: err}
}

// attempt sends one copy of req. A response with a retryable status comes
// back with its body read into memory (bounded by MaxBody), returned as data
// and again as resp.Body, and the attempt's context released. Any other
// response keeps its streaming body, and the attempt's timeout runs until
// the caller closes it.
func (t *RetryTransport) attempt(req *http.Request, body []byte) (resp *http.Response, data []byte, err error) {
	timeout := orDefault(t.Timeout, DefaultTimeout)
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}

	resp, err = base.RoundTrip(cloneWithBody(ctx, req, body))
	if err != nil {
		cancel()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Context().Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			// The transport may report an expired attempt as a plain
			// cancellation, which IsTimeout would not recognise.
			err = fmt.Errorf("no response within %s: %w (%w)", timeout, context.DeadlineExceeded, err)
		}
		return nil, nil, err
	}
	if !RetryableStatus(resp.StatusCode) {
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil, nil
	}

	defer cancel()
	limit := orDefault(t.MaxBody, DefaultMaxBody)
	data, err = io.ReadAll(io.LimitReader(resp.Body, limit))
	_ = resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the body of a %d response: %w", resp.StatusCode, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, data, nil
}

// cloneWithBody returns a copy of req bound to ctx that sends body.
func cloneWithBody(ctx context.Context, req *http.Request, body []byte) *http.Request {
	clone := req.Clone(ctx)
	if body == nil {
		clone.GetBody = nil
		clone.Body = nil
		if req.Body != nil {
			clone.Body = http.NoBody
		}
		return clone
	}
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	clone.ContentLength = int64(len(body))
	return clone
}

// readRequestBody reads and closes req.Body. It returns nil for a request
// without a body.
func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

func (t *RetryTransport) system() string {
	if t.System == "" {
		return "server"
	}
	return t.System
}

func (t *RetryTransport) logRetry(req *http.Request, attempt int, resp *http.Response, err error, wait time.Duration) {
	if t.Logger == nil {
		return
	}
	attrs := []any{
		"system", t.system(), "method", req.Method, "url", Redact(req.URL.String()),
		"attempt", attempt, "wait", wait,
	}
	if resp != nil {
		attrs = append(attrs, "status", resp.StatusCode)
	} else {
		attrs = append(attrs, "error", err)
	}
	t.Logger.Warn("retrying request", attrs...)
}

// jitteredBackoff returns the wait before attempt+1: a random duration
// between half and all of an exponential ceiling, the formula of
// Client.Do, so clients that failed together do not retry together.
func jitteredBackoff(attempt int, minBackoff, maxBackoff time.Duration) time.Duration {
	ceiling := minBackoff << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > maxBackoff {
		ceiling = maxBackoff
	}
	half := ceiling / 2
	return half + rand.N(half+1)
}

func orDefault[T int | int64 | time.Duration](value, fallback T) T {
	if value <= 0 {
		return fallback
	}
	return value
}

// cancelOnClose releases an attempt's context when the caller closes the
// response body, so the timeout also covers reading the body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
