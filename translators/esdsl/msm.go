package esdsl

import (
	"fmt"
	"strconv"
	"strings"
)

// minimumShouldMatch resolves a minimum_should_match spec against n optional
// clauses the way Elasticsearch's Queries.calculateMinShouldMatch does:
//
//   - "3" needs 3 clauses and "-1" all but one;
//   - "75%" needs 75% of n rounded down, and "-25%" all but 25% of n
//     rounded down;
//   - "3<90%" needs every clause when n <= 3 and 90% otherwise, and
//     "2<-25% 9<-3" chains such conditions with rising bounds.
//
// The result is never negative; it may exceed n, and then nothing matches.
func minimumShouldMatch(n int, spec string) (int, error) {
	spec = strings.TrimSpace(spec)
	if !strings.Contains(spec, "<") {
		return simpleMinimumShouldMatch(n, spec)
	}

	for strings.Contains(spec, " <") || strings.Contains(spec, "< ") {
		spec = strings.ReplaceAll(strings.ReplaceAll(spec, " <", "<"), "< ", "<")
	}
	result := n
	for _, part := range strings.Fields(spec) {
		bound, rest, ok := strings.Cut(part, "<")
		if !ok {
			return 0, fmt.Errorf("invalid minimum_should_match %q: %q has no '<'; write conditions as N<spec", spec, part)
		}
		upper, err := strconv.Atoi(bound)
		if err != nil {
			return 0, fmt.Errorf("invalid minimum_should_match %q: %q is not an integer", spec, bound)
		}
		if n <= upper {
			return result, nil
		}
		if result, err = simpleMinimumShouldMatch(n, rest); err != nil {
			return 0, fmt.Errorf("invalid minimum_should_match %q: %w", spec, err)
		}
	}
	return result, nil
}

// simpleMinimumShouldMatch resolves an integer or a percentage.
func simpleMinimumShouldMatch(n int, spec string) (int, error) {
	var result int
	if digits, ok := strings.CutSuffix(spec, "%"); ok {
		percent, err := strconv.Atoi(digits)
		if err != nil {
			return 0, fmt.Errorf("invalid minimum_should_match %q: expected an integer or a percentage such as \"75%%\"", spec)
		}
		// Elasticsearch computes in float32 and truncates toward zero.
		calc := float32(n*percent) * (1 / float32(100))
		result = int(calc)
		if calc < 0 {
			result = n + int(calc)
		}
	} else {
		count, err := strconv.Atoi(spec)
		if err != nil {
			return 0, fmt.Errorf("invalid minimum_should_match %q: expected an integer or a percentage such as \"75%%\"", spec)
		}
		result = count
		if count < 0 {
			result = n + count
		}
	}
	return max(result, 0), nil
}
