// Command testsummary runs every test of every module of the repository
// with the race detector, then each fuzz target briefly, and ends with one
// line: "N passed, N failed, N skipped". It is what scripts/test-all.sh
// runs; it uses only the standard library.
//
// Counting, from `go test -json`: every test and subtest that passed,
// failed or skipped; each fuzz target run is one test; a package that
// failed with no failed test (a build failure, a panic outside a test, a
// timeout) is one failure, and so is a go command that exited non-zero
// without reporting any. Skipped tests are listed with their reasons. The
// exit status is 1 when anything failed.
//
// Usage (from the repository root):
//
//	go run ./scripts/testsummary [-fuzztime 3s] [-parallel N]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	fuzztime := flag.String("fuzztime", "3s", "how long each fuzz target runs")
	parallel := flag.Int("parallel", 1, "modules tested at once")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !runAll(ctx, ".", *fuzztime, *parallel, os.Stdout) {
		os.Exit(1)
	}
}

// testJob is one `go test -json` invocation.
type testJob struct {
	label string
	dir   string
	args  []string
	// fuzz marks a fuzz target run: it is retried once when the fuzzing
	// engine itself gave up ("context deadline exceeded" with no failing
	// input written), a known flake of short -fuzztime runs on busy
	// machines that says nothing of the code.
	fuzz bool
}

// runAll runs the module tests, up to parallel at once, then the fuzz
// targets one after another (each uses every core), and prints the
// summary. It reports whether everything passed.
func runAll(ctx context.Context, root, fuzztime string, parallel int, out io.Writer) bool {
	t := &tally{out: out}
	modules, fuzz, err := discover(root)
	if err != nil {
		fmt.Fprintf(out, "testsummary: %v\n", err)
		return false
	}
	var modJobs, fuzzJobs []testJob
	for _, m := range modules {
		modJobs = append(modJobs, testJob{label: m + "/...", dir: m, args: []string{"-race", "-count=1", "./..."}})
	}
	for _, f := range fuzz {
		fuzzJobs = append(fuzzJobs, testJob{label: "fuzz " + f.target + " (" + f.dir + ")", dir: f.dir,
			args: []string{"-run=^$", "-fuzz=^" + f.target + "$", "-fuzztime=" + fuzztime, "."}, fuzz: true})
	}
	start := time.Now()
	runJobs(ctx, t, modJobs, parallel)
	t.print(fmt.Sprintf("=== module tests took %s\n", time.Since(start).Round(time.Second)))
	fuzzStart := time.Now()
	runJobs(ctx, t, fuzzJobs, 1)
	t.print(fmt.Sprintf("=== fuzz targets took %s; all took %s\n",
		time.Since(fuzzStart).Round(time.Second), time.Since(start).Round(time.Second)))
	return t.summary()
}

func runJobs(ctx context.Context, t *tally, jobs []testJob, parallel int) {
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for _, tj := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			runJob(ctx, t, tj)
		})
	}
	wg.Wait()
}

// runJob runs one go test and feeds its JSON to the tally.
func runJob(ctx context.Context, t *tally, tj testJob) {
	t.print(fmt.Sprintf("=== go test %s   (in %s)\n", strings.Join(tj.args, " "), tj.dir))
	start := time.Now()
	j := t.newJob(tj.label)
	if tj.fuzz {
		runFuzzJob(ctx, t, j, tj)
		t.print(fmt.Sprintf("=== %s took %s\n", tj.label, time.Since(start).Round(100*time.Millisecond)))
		return
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, tj.args...)...)
	cmd.Dir = tj.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		j.finish(err, "")
		return
	}
	readErr := j.read(stdout)
	err = cmd.Wait()
	if err == nil && readErr != nil {
		err = readErr
	}
	j.finish(err, stderr.String())
	t.print(fmt.Sprintf("=== %s took %s\n", tj.label, time.Since(start).Round(100*time.Millisecond)))
}

// fuzzTarget is a Fuzz function and the package directory holding it.
type fuzzTarget struct{ dir, target string }

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]*)\(`)

// discover returns the module directories (those holding a go.mod) and the
// fuzz targets under root, sorted, skipping node_modules and hidden
// directories.
func discover(root string) (modules []string, fuzz []fuzzTarget, err error) {
	seen := map[fuzzTarget]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "node_modules" || name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case name == "go.mod":
			modules = append(modules, filepath.Dir(path))
		case strings.HasSuffix(name, "_test.go"):
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range fuzzFunc.FindAllSubmatch(src, -1) {
				f := fuzzTarget{dir: filepath.Dir(path), target: string(m[1])}
				if !seen[f] {
					seen[f] = true
					fuzz = append(fuzz, f)
				}
			}
		}
		return nil
	})
	slices.Sort(modules)
	slices.SortFunc(fuzz, func(a, b fuzzTarget) int {
		return strings.Compare(a.dir+" "+a.target, b.dir+" "+b.target)
	})
	return modules, fuzz, err
}

// runFuzzJob runs a fuzz target, once more if the fuzzing engine gave up
// on its own deadline without finding anything, and feeds the last run's
// JSON to the tally.
func runFuzzJob(ctx context.Context, t *tally, j *job, tj testJob) {
	out, stderr, err := runBuffered(ctx, tj)
	if err != nil && engineTimedOut(out) {
		t.print("=== " + tj.label + ": the fuzzing engine hit its own deadline (context deadline exceeded, no failing input); running it once more\n")
		out, stderr, err = runBuffered(ctx, tj)
	}
	readErr := j.read(bytes.NewReader(out))
	if err == nil && readErr != nil {
		err = readErr
	}
	j.finish(err, stderr)
}

// runBuffered runs one go test -json and returns its output.
func runBuffered(ctx context.Context, tj testJob) (stdout []byte, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, tj.args...)...)
	cmd.Dir = tj.dir
	var out, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errBuf
	err = cmd.Run()
	return out.Bytes(), errBuf.String(), err
}

// engineTimedOut reports whether a failed fuzz run's output says the
// fuzzing engine stopped on its deadline rather than on a failing input.
func engineTimedOut(out []byte) bool {
	return bytes.Contains(out, []byte("context deadline exceeded")) &&
		!bytes.Contains(out, []byte("Failing input written"))
}
