package logql

import (
	"regexp"
	"testing"
)

func TestLuceneRegex(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{`abc`, `abc`, false},
		{`a.c`, `a.c`, false},
		{`ab*c+d?`, `ab*c+d?`, false},
		{`a{2,3}`, `a{2,3}`, false},
		{`(ab|cd)e`, `(ab|cd)e`, false},
		{`[a-z0-9_]+`, `[a-z0-9_]+`, false},
		{`[^xy]`, `[^xy]`, false},
		{`"a.b"c`, `(?:a\.b)c`, false}, // quoted text is literal
		{`"ab"*`, `(?:ab)*`, false},    // and a repeat applies to all of it
		{`a@`, `a(?:.*)`, false},       // @ is any string
		{`\d+`, `[0-9]+`, false},       // \d, \s and \w are ASCII classes
		{`\w\s\D`, `[a-zA-Z0-9_][ \t\n\r][^0-9]`, false},
		{`[\d_]`, `[0-9_]`, false},
		{`[\D]`, ``, true},
		{`(?i)abc`, `(\?i)abc`, false}, // ? after ( is literal
		{`|a`, `\|a`, false},           // | with nothing before it is literal
		{`(|a)`, `(\|a)`, false},
		{`a||b`, `a|\|b`, false},
		{`a+?`, `a*`, false}, // an optional repeat, not a lazy one
		{`a*?`, `a*`, false},
		{`a??`, `a?`, false},
		{`a{2}?`, ``, true},
		{`a\.b`, `a\.b`, false},              // escapes stay literal
		{`^a$`, `\^a\$`, false},              // ^ and $ are ordinary characters in Lucene
		{`a#`, `a[^\x00-\x{10FFFF}]`, false}, // # is the empty language
		{`~(ab)`, ``, true},                  // complement has no RE2 form
		{`ab&cd`, ``, true},                  // nor intersection
		{`<1-10>`, ``, true},                 // numeric intervals are not translated
		{`a\`, ``, true},
		{`[ab`, ``, true},
		{`"ab`, ``, true},
	}
	for _, tc := range cases {
		got, err := luceneRegex(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("luceneRegex(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if got != tc.want {
			t.Errorf("luceneRegex(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err == nil {
			if _, cerr := regexp.Compile(got); cerr != nil {
				t.Errorf("luceneRegex(%q) = %q does not compile: %v", tc.in, got, cerr)
			}
		}
	}
}

func TestWildcardRegex(t *testing.T) {
	cases := []struct {
		in        string
		tokenMode bool
		want      string
	}{
		{`ab*`, false, `ab.*`},
		{`a?c`, false, `a.c`},
		{`a\*b`, false, `a\*b`},
		{`1.2.*`, false, `1\.2\..*`},
		{`*err*`, true, `[\p{L}\p{N}_]*err[\p{L}\p{N}_]*`},
	}
	for _, tc := range cases {
		if got := wildcardRegex(tc.in, tc.tokenMode); got != tc.want {
			t.Errorf("wildcardRegex(%q, %v) = %q, want %q", tc.in, tc.tokenMode, got, tc.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	cases := map[string][]string{
		"Disk full!":       {"disk", "full"},
		"system.syslog":    {"system.syslog"},
		"foo-bar":          {"foo", "bar"},
		"3.14 and 1,000":   {"3.14", "and", "1,000"},
		"don't STOP":       {"don't", "stop"},
		"snake_case x":     {"snake_case", "x"},
		"a.1":              {"a", "1"},
		"Größe über 10%":   {"größe", "über", "10"},
		"...":              nil,
		"trailing.":        {"trailing"},
		"user@example.com": {"user", "example.com"},
	}
	for in, want := range cases {
		got := tokenize(in)
		if len(got) != len(want) {
			t.Errorf("tokenize(%q) = %q, want %q", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("tokenize(%q) = %q, want %q", in, got, want)
				break
			}
		}
	}
}

func TestSanitizeLabelName(t *testing.T) {
	cases := map[string]string{
		"@timestamp":                 "_timestamp",
		"http.response.status_code":  "http_response_status_code",
		"kubernetes.labels.app-name": "kubernetes_labels_app_name",
		"1st":                        "_1st",
		"größe":                      "gr__e",
	}
	for in, want := range cases {
		if got := SanitizeLabelName(in); got != want {
			t.Errorf("SanitizeLabelName(%q) = %q, want %q", in, got, want)
		}
	}
}
