package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// event is one line of `go test -json`: a test2json TestEvent or, for a
// build, a BuildEvent (ImportPath set, Action build-output or build-fail).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
	ImportPath  string
}

// skipped is a skipped test and the message it skipped with.
type skipped struct {
	Name   string // package and test
	Reason string
}

// tally counts the tests of every job and prints their progress: one line
// per package that passed, the whole output of each failure, a line per
// skip. It is safe for concurrent use by the jobs running at once; each
// printed block is written with one call, so parallel jobs never
// interleave inside a block.
type tally struct {
	mu      sync.Mutex
	out     io.Writer
	passed  int
	failed  []string // names of failed tests and of packages failed without one
	skipped []skipped
}

// job parses the JSON stream of one `go test` run.
type job struct {
	t      *tally
	label  string
	output map[string]*strings.Builder // per test, and per package under ""
	build  map[string]*strings.Builder // build output per ImportPath
	failed map[string]bool             // packages with a failed test
	nFail  int                         // failures counted for this job
}

func (t *tally) newJob(label string) *job {
	return &job{
		t: t, label: label,
		output: map[string]*strings.Builder{},
		build:  map[string]*strings.Builder{},
		failed: map[string]bool{},
	}
}

// print writes one block to the output.
func (t *tally) print(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.out, s)
}

// read consumes a JSON stream to its end. Lines that are not JSON (rare:
// the go command's own errors) are kept as package output.
func (j *job) read(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var e event
		err := dec.Decode(&e)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			rest, _ := io.ReadAll(io.MultiReader(dec.Buffered(), r))
			j.buf(j.output, "").WriteString(string(rest))
			return fmt.Errorf("%s: reading go test -json: %w", j.label, err)
		}
		j.event(e)
	}
}

func (j *job) buf(m map[string]*strings.Builder, key string) *strings.Builder {
	b, ok := m[key]
	if !ok {
		b = &strings.Builder{}
		m[key] = b
	}
	return b
}

func testKey(pkg, test string) string { return pkg + " " + test }

// event handles one event.
func (j *job) event(e event) {
	switch e.Action {
	case "build-output":
		j.buf(j.build, e.ImportPath).WriteString(e.Output)
	case "output":
		key := e.Package
		if e.Test != "" {
			key = testKey(e.Package, e.Test)
		}
		j.buf(j.output, key).WriteString(e.Output)
	case "pass", "skip", "fail":
		if e.Test != "" {
			j.testDone(e)
		} else {
			j.packageDone(e)
		}
	}
}

func (j *job) testDone(e event) {
	key := testKey(e.Package, e.Test)
	out := j.buf(j.output, key).String()
	delete(j.output, key)
	t := j.t
	switch e.Action {
	case "pass":
		t.mu.Lock()
		t.passed++
		t.mu.Unlock()
	case "skip":
		reason := skipReason(out)
		t.mu.Lock()
		t.skipped = append(t.skipped, skipped{Name: key, Reason: reason})
		t.mu.Unlock()
		t.print(fmt.Sprintf("SKIP %s: %s\n", key, reason))
	case "fail":
		j.failed[e.Package] = true
		j.nFail++
		t.mu.Lock()
		t.failed = append(t.failed, key)
		t.mu.Unlock()
		t.print(fmt.Sprintf("--- FAIL %s (%.2fs)\n%s\n", key, e.Elapsed, indent(out)))
	}
}

func (j *job) packageDone(e event) {
	out := j.buf(j.output, e.Package).String()
	delete(j.output, e.Package)
	t := j.t
	switch {
	case e.Action == "skip": // no test files
	case e.Action == "pass":
		t.print(fmt.Sprintf("ok   %s %.1fs\n", e.Package, e.Elapsed))
	case j.failed[e.Package]:
		t.print(fmt.Sprintf("FAIL %s %.1fs\n%s\n", e.Package, e.Elapsed, indent(out)))
	default:
		// A failed package without a failed test: a build failure, a
		// panic outside a test, a timeout. It counts as one failure.
		if e.FailedBuild != "" {
			// Taken, not copied: the next package failing on the same
			// import adds its own output under the same ImportPath.
			out = j.buf(j.build, e.FailedBuild).String() + out
			delete(j.build, e.FailedBuild)
		}
		j.failPackage(e.Package, out)
	}
}

// failPackage counts a failure that no test event reported.
func (j *job) failPackage(name, out string) {
	j.nFail++
	t := j.t
	t.mu.Lock()
	t.failed = append(t.failed, name+" (no test reported the failure)")
	t.mu.Unlock()
	t.print(fmt.Sprintf("FAIL %s\n%s\n", name, indent(out)))
}

// finish accounts for the exit status of the go command: a non-zero exit
// with no failure counted (the go command failed before testing, say) is
// one failure, shown with whatever the command printed.
func (j *job) finish(exitErr error, stderr string) {
	if exitErr == nil || j.nFail > 0 {
		if stderr != "" && exitErr != nil {
			j.t.print(indent(stderr) + "\n")
		}
		return
	}
	var rest strings.Builder
	for _, b := range j.build {
		rest.WriteString(b.String())
	}
	for _, b := range j.output {
		rest.WriteString(b.String())
	}
	j.failPackage(j.label, fmt.Sprintf("go test: %v\n%s%s", exitErr, rest.String(), stderr))
}

// skipReason returns the message a test skipped with: the last line it
// logged, without the file:line prefix and the test framing.
func skipReason(out string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		if _, msg, ok := strings.Cut(l, ": "); ok && strings.Contains(l[:strings.Index(l, ": ")], ".go:") {
			return msg
		}
		return l
	}
	return "(no reason given)"
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// summary writes the skipped and failed tests and, last, the line
// "N passed, N failed, N skipped". It reports whether nothing failed.
func (t *tally) summary() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	if len(t.skipped) > 0 {
		fmt.Fprintf(&b, "\nSkipped:\n")
		for _, s := range t.skipped {
			fmt.Fprintf(&b, "  %s: %s\n", s.Name, s.Reason)
		}
	}
	if len(t.failed) > 0 {
		fmt.Fprintf(&b, "\nFailed:\n")
		for _, f := range t.failed {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	fmt.Fprintf(&b, "\n%d passed, %d failed, %d skipped\n", t.passed, len(t.failed), len(t.skipped))
	_, _ = io.WriteString(t.out, b.String())
	return len(t.failed) == 0
}
