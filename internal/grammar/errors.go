package grammar

import "errors"

// ErrUnavailable is wrapped by the error Check returns when the checker cannot
// run: node is not on PATH, the npm packages are not installed, or the
// repository root cannot be found.
var ErrUnavailable = errors.New("grammar checker unavailable")

// installHint names the commands that install the checker's npm packages.
const installHint = `run "make test", which installs them, or "npm ci --prefix tools/grammar" ` +
	`in the repository root`
