package grammar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Query languages that Check accepts in Query.Lang.
const (
	LangLogQL   = "logql"
	LangTraceQL = "traceql"
)

// waitDelay bounds how long Check waits for node's output pipes to close after
// node exits or the context is canceled.
const waitDelay = 5 * time.Second

// Query is one query to check.
type Query struct {
	// ID identifies the query in results and failure messages.
	ID string
	// Lang is LangLogQL or LangTraceQL.
	Lang string
	// Text is the query as generated, with any Grafana template variables.
	Text string
}

// Span is one problem in a query. From and To are UTF-8 byte offsets into the
// interpolated query (Result.Interpolated, or Query.Text when that is empty).
type Span struct {
	From int `json:"from"`
	To   int `json:"to"`
	// Context is the text around the problem, with the span between ⟦ and ⟧.
	Context string `json:"context"`
	// Message is "syntax error" for a lezer error node, or names the invalid
	// escape sequence or the empty query.
	Message string `json:"message"`
}

// Result is the outcome for one Query.
type Result struct {
	ID string
	// OK is true when the query is not empty and its tree has no error node
	// and no invalid string literal.
	OK     bool
	Errors []Span
	// Interpolated is the query after template variables were replaced with
	// sample values, or empty when the query has none.
	Interpolated string
	// Tree is the lezer syntax tree in lezer's compact notation, in which
	// error nodes appear as ⚠.
	Tree string
}

// Checker runs the grammar checker of one repository checkout.
type Checker struct {
	// Root is the repository root, the folder with go.mod and
	// tools/grammar. When empty, Check uses FindRoot.
	Root string
}

// Check parses every query with the grammar of its language, using the
// checker of the repository that contains this package. It runs one node
// process for the whole batch and returns one Result per query, in order.
//
// A query that fails to parse is not an error: its Result has OK false. Check
// returns an error wrapping ErrUnavailable when node or the npm packages are
// missing, and other errors when a query has an unknown language or the
// checker fails.
func Check(ctx context.Context, queries []Query) ([]Result, error) {
	return Checker{}.Check(ctx, queries)
}

// Check is like the package-level Check, for the checkout at c.Root.
func (c Checker) Check(ctx context.Context, queries []Query) ([]Result, error) {
	input, err := encodeQueries(queries)
	if err != nil {
		return nil, err
	}

	root := c.Root
	if root == "" {
		if root, err = FindRoot(); err != nil {
			return nil, err
		}
	}
	node, err := locateNode(root)
	if err != nil {
		return nil, err
	}
	if len(queries) == 0 {
		return []Result{}, nil
	}
	return runChecker(ctx, node, root, input, queries)
}

// inputLine is one line of check.mjs input.
type inputLine struct {
	ID    string `json:"id"`
	Lang  string `json:"lang"`
	Query string `json:"query"`
}

// outputLine is one line of check.mjs output.
type outputLine struct {
	ID           string `json:"id"`
	OK           bool   `json:"ok"`
	Errors       []Span `json:"errors"`
	Interpolated string `json:"interpolated"`
	Tree         string `json:"tree"`
	// Error is set instead of Errors when the script could not check the line.
	Error string `json:"error"`
}

func encodeQueries(queries []Query) (*bytes.Buffer, error) {
	var input bytes.Buffer
	encoder := json.NewEncoder(&input)
	encoder.SetEscapeHTML(false)

	for _, q := range queries {
		if q.Lang != LangLogQL && q.Lang != LangTraceQL {
			return nil, fmt.Errorf("checking query %q: unknown language %q: use %q or %q",
				q.ID, q.Lang, LangLogQL, LangTraceQL)
		}
		// JSON encoding would replace invalid bytes, and offsets would no
		// longer match the text.
		if !utf8.ValidString(q.Text) {
			return nil, fmt.Errorf("checking query %q: text is not valid UTF-8: %q", q.ID, q.Text)
		}
		if err := encoder.Encode(inputLine{ID: q.ID, Lang: q.Lang, Query: q.Text}); err != nil {
			return nil, fmt.Errorf("encoding query %q for the grammar checker: %w", q.ID, err)
		}
	}
	return &input, nil
}

func runChecker(
	ctx context.Context,
	node string,
	root string,
	input io.Reader,
	queries []Query,
) ([]Result, error) {
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, scriptPath))
	cmd.Dir = root
	cmd.Stdin = input
	cmd.WaitDelay = waitDelay
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("connecting to the grammar checker's output: %w", err)
	}

	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s %s: %w", node, scriptPath, err)
	}
	results, readErr := readResults(stdout, queries)
	// Read what is left, so that node does not block on a full pipe when
	// readResults stopped early.
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()

	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("checking %d queries with %s: %w", len(queries), scriptPath, ctxErr)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("running %s: %w; stderr: %s",
			scriptPath, waitErr, strings.TrimSpace(stderr.String()))
	}
	if readErr != nil {
		return nil, readErr
	}
	return results, nil
}

func readResults(stdout io.Reader, queries []Query) ([]Result, error) {
	decoder := json.NewDecoder(stdout)
	results := make([]Result, 0, len(queries))

	for {
		var line outputLine
		err := decoder.Decode(&line)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decoding result %d from %s: %w", len(results)+1, scriptPath, err)
		}
		if len(results) == len(queries) {
			return nil, fmt.Errorf("reading %s output: more results than the %d queries sent",
				scriptPath, len(queries))
		}

		q := queries[len(results)]
		if line.ID != q.ID {
			return nil, fmt.Errorf("reading %s output: result %d has id %q, expected %q",
				scriptPath, len(results)+1, line.ID, q.ID)
		}
		if line.Error != "" {
			return nil, fmt.Errorf("checking query %q: %s", q.ID, line.Error)
		}
		results = append(results, Result{
			ID:           line.ID,
			OK:           line.OK,
			Errors:       line.Errors,
			Interpolated: line.Interpolated,
			Tree:         line.Tree,
		})
	}

	if len(results) != len(queries) {
		return nil, fmt.Errorf("reading %s output: %d results for %d queries",
			scriptPath, len(results), len(queries))
	}
	return results, nil
}
