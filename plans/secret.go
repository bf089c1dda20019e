package plans

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret prefixes. A plan names where a secret is kept, never the secret.
const (
	secretEnvPrefix  = "env:"
	secretFilePrefix = "file:"
)

// redactedLiteral replaces a secret written literally wherever a Secret is
// printed or encoded.
const redactedLiteral = "[redacted literal secret]"

// literalSecretHint is the fix offered for a literal secret.
const literalSecretHint = "write env:NAME or file:PATH, because a literal secret " +
	"would end up in Git and in logs"

// ErrLiteralSecret is returned by Resolve for a secret written literally in
// the plan. Validate reports such secrets with their position.
var ErrLiteralSecret = errors.New("literal secret")

// Secret is a reference to a secret: env:NAME reads an environment variable
// and file:PATH reads a file, relative to the plan's folder unless absolute.
// A Secret holds only the reference. Resolve reads the value when called, and
// printing or encoding a Secret shows only the reference.
type Secret struct {
	ref string
	// dir is the folder relative file: paths resolve against; Parse sets it
	// to the plan's folder.
	dir string
}

// NewSecret returns a Secret for a reference such as "env:ES_PASSWORD" or
// "file:secrets/es". Relative file paths resolve against the working
// directory.
func NewSecret(ref string) Secret {
	return Secret{ref: ref}
}

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return s.ref == "" }

// Resolve reads the secret. An unset Secret resolves to "". A missing or
// empty environment variable, an unreadable or empty file, and a literal
// secret are errors, which name the reference but never a value. Trailing
// line breaks are removed from file contents.
func (s Secret) Resolve() (string, error) {
	if s.ref == "" {
		return "", nil
	}
	if name, ok := strings.CutPrefix(s.ref, secretEnvPrefix); ok {
		return s.resolveEnv(name)
	}
	if path, ok := strings.CutPrefix(s.ref, secretFilePrefix); ok {
		return s.resolveFile(path)
	}
	return "", fmt.Errorf("resolving secret: %w: %s", ErrLiteralSecret, literalSecretHint)
}

func (s Secret) resolveEnv(name string) (string, error) {
	value, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("resolving secret %s: environment variable %s is not set: export it",
			s.ref, name)
	}
	if value == "" {
		return "", fmt.Errorf("resolving secret %s: environment variable %s is empty", s.ref, name)
	}
	return value, nil
}

func (s Secret) resolveFile(path string) (string, error) {
	if path != "" && !filepath.IsAbs(path) && s.dir != "" {
		path = filepath.Join(s.dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// The error from os names the path and the reason, never contents.
		return "", fmt.Errorf("resolving secret %s: %w", s.ref, err)
	}
	value := strings.TrimRight(string(data), "\r\n")
	if value == "" {
		return "", fmt.Errorf("resolving secret %s: file %s is empty", s.ref, path)
	}
	return value, nil
}

// problem returns what is wrong with the reference, or "" when it is valid
// or unset. It never reads the secret.
func (s Secret) problem() string {
	if s.ref == "" {
		return ""
	}
	if name, ok := strings.CutPrefix(s.ref, secretEnvPrefix); ok {
		if !envName.MatchString(name) {
			return fmt.Sprintf("invalid environment variable name %q in %s: "+
				"use letters, digits and underscores, not starting with a digit", name, s.ref)
		}
		return ""
	}
	if path, ok := strings.CutPrefix(s.ref, secretFilePrefix); ok {
		if strings.TrimSpace(path) == "" {
			return "missing path after file:: write file:PATH"
		}
		return ""
	}
	return "literal secret: " + literalSecretHint
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// isLiteral reports whether s is set but is not a reference.
func (s Secret) isLiteral() bool {
	return s.ref != "" &&
		!strings.HasPrefix(s.ref, secretEnvPrefix) &&
		!strings.HasPrefix(s.ref, secretFilePrefix)
}

// String returns the reference, or a placeholder for a literal secret.
func (s Secret) String() string {
	if s.isLiteral() {
		return redactedLiteral
	}
	return s.ref
}

// GoString returns a Go expression for s, for %#v.
func (s Secret) GoString() string {
	return "plans.NewSecret(" + strconv.Quote(s.String()) + ")"
}

// Format prints s as String does for every verb except %#v, which prints
// GoString, and %q, which quotes. Implementing fmt.Formatter keeps verbs
// such as %d or %x from printing the fields.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, s.GoString())
	case verb == 'q':
		_, _ = io.WriteString(f, strconv.Quote(s.String()))
	default:
		_, _ = io.WriteString(f, s.String())
	}
}

// MarshalText encodes the reference.
func (s Secret) MarshalText() ([]byte, error) {
	return []byte(s.String()), nil
}

// MarshalJSON encodes the reference as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.String())
}

// MarshalYAML encodes the reference as a YAML string.
func (s Secret) MarshalYAML() (any, error) {
	return s.String(), nil
}

// UnmarshalText decodes a reference. Literals decode too, so Validate can
// report them.
func (s *Secret) UnmarshalText(text []byte) error {
	*s = Secret{ref: string(text), dir: s.dir}
	return nil
}

// UnmarshalYAML decodes a reference from a single YAML value.
func (s *Secret) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a secret reference such as env:NAME or file:PATH, found %s",
			kindName(node))
	}
	return s.UnmarshalText([]byte(node.Value))
}
