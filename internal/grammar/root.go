package grammar

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// scriptPath is the checker script, relative to the repository root.
var scriptPath = filepath.Join("tools", "grammar", "check.mjs")

// requiredModules are the npm packages check.mjs imports, relative to the
// repository root.
var requiredModules = []string{
	filepath.Join("tools", "grammar", "node_modules", "@grafana", "lezer-logql", "package.json"),
	filepath.Join("tools", "grammar", "node_modules", "@grafana", "lezer-traceql", "package.json"),
	filepath.Join("tools", "grammar", "node_modules", "@lezer", "lr", "package.json"),
}

// FindRoot returns the repository root: the nearest folder with a go.mod file
// and tools/grammar/check.mjs, searched upwards from this package's source
// folder and then from the working directory. Requiring check.mjs skips nested
// modules such as tools/go.mod.
func FindRoot() (string, error) {
	var starts []string
	// The source path is absolute unless the binary was built with -trimpath.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}

	for _, start := range starts {
		if root, ok := findRootFrom(start); ok {
			return root, nil
		}
	}
	return "", fmt.Errorf("finding repository root from %s: no folder above has go.mod and %s; "+
		"run from inside the repository: %w", strings.Join(starts, " or "), scriptPath, ErrUnavailable)
}

func findRootFrom(dir string) (string, bool) {
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, scriptPath)) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// locateNode returns the path of the node binary and checks that root has the
// checker script and its npm packages.
func locateNode(root string) (string, error) {
	if !fileExists(filepath.Join(root, scriptPath)) {
		return "", fmt.Errorf("checking %s: file not found in repository root %s: %w",
			scriptPath, root, ErrUnavailable)
	}

	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("finding node on PATH for the grammar checker: %w; install Node.js 20 "+
			"or newer, then %s: %w", err, installHint, ErrUnavailable)
	}

	for _, module := range requiredModules {
		path := filepath.Join(root, module)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("grammar checker packages are not installed (%s is missing): %s: %w",
				path, installHint, ErrUnavailable)
		} else if err != nil {
			return "", fmt.Errorf("checking grammar checker package %s: %w", path, err)
		}
	}
	return node, nil
}
