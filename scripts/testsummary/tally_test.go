package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stream builds a `go test -json` stream from events.
func stream(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestTally(t *testing.T) {
	const pkg = `"Package":"example.com/m"`
	tests := []struct {
		name        string
		json        string
		exitErr     error
		stderr      string
		wantSummary string
		wantOK      bool
		wantOut     []string // printed somewhere
		wantNotOut  []string
	}{
		{
			name: "pass, subtest, skip with reason",
			json: stream(
				`{"Action":"start",`+pkg+`}`,
				`{"Action":"run",`+pkg+`,"Test":"TestA"}`,
				`{"Action":"output",`+pkg+`,"Test":"TestA","Output":"=== RUN   TestA\n"}`,
				`{"Action":"output",`+pkg+`,"Test":"TestA","Output":"    a_test.go:9: chatty log of a passing test\n"}`,
				`{"Action":"pass",`+pkg+`,"Test":"TestA/sub","Elapsed":0}`,
				`{"Action":"pass",`+pkg+`,"Test":"TestA","Elapsed":0.1}`,
				`{"Action":"output",`+pkg+`,"Test":"TestRedis","Output":"=== RUN   TestRedis\n"}`,
				`{"Action":"output",`+pkg+`,"Test":"TestRedis","Output":"    redis_test.go:38: skipping: redis-server not on PATH\n"}`,
				`{"Action":"output",`+pkg+`,"Test":"TestRedis","Output":"--- SKIP: TestRedis (0.00s)\n"}`,
				`{"Action":"skip",`+pkg+`,"Test":"TestRedis","Elapsed":0}`,
				`{"Action":"pass",`+pkg+`,"Elapsed":1.5}`,
			),
			wantSummary: "2 passed, 0 failed, 1 skipped",
			wantOK:      true,
			wantOut:     []string{"example.com/m TestRedis: skipping: redis-server not on PATH", "ok   example.com/m"},
			wantNotOut:  []string{"chatty log"},
		},
		{
			name: "failed test printed in full",
			json: stream(
				`{"Action":"output",`+pkg+`,"Test":"TestB","Output":"=== RUN   TestB\n"}`,
				`{"Action":"output",`+pkg+`,"Test":"TestB","Output":"    b_test.go:3: want 1, got 2\n"}`,
				`{"Action":"fail",`+pkg+`,"Test":"TestB","Elapsed":0.2}`,
				`{"Action":"output",`+pkg+`,"Output":"FAIL\n"}`,
				`{"Action":"fail",`+pkg+`,"Elapsed":0.3}`,
			),
			exitErr:     errors.New("exit status 1"),
			wantSummary: "0 passed, 1 failed, 0 skipped",
			wantOut:     []string{"--- FAIL example.com/m TestB", "b_test.go:3: want 1, got 2"},
		},
		{
			name: "build failure: package fail without a test",
			json: stream(
				`{"ImportPath":"example.com/m [example.com/m.test]","Action":"build-output","Output":"./a.go:3:1: syntax error\n"}`,
				`{"ImportPath":"example.com/m [example.com/m.test]","Action":"build-fail"}`,
				`{"Action":"start",`+pkg+`}`,
				`{"Action":"output",`+pkg+`,"Output":"FAIL\texample.com/m [build failed]\n"}`,
				`{"Action":"fail",`+pkg+`,"Elapsed":0,"FailedBuild":"example.com/m [example.com/m.test]"}`,
			),
			exitErr:     errors.New("exit status 1"),
			wantSummary: "0 passed, 1 failed, 0 skipped",
			wantOut:     []string{"FAIL example.com/m", "syntax error", "no test reported the failure"},
		},
		{
			name: "two packages failing on one missing import",
			json: stream(
				`{"ImportPath":"x/missing","Action":"build-output","Output":"# x/a\n"}`,
				`{"ImportPath":"x/missing","Action":"build-fail"}`,
				`{"Action":"fail","Package":"x/a","Elapsed":0,"FailedBuild":"x/missing"}`,
				`{"ImportPath":"x/missing","Action":"build-output","Output":"# x/b\n"}`,
				`{"ImportPath":"x/missing","Action":"build-fail"}`,
				`{"Action":"fail","Package":"x/b","Elapsed":0,"FailedBuild":"x/missing"}`,
			),
			exitErr:     errors.New("exit status 1"),
			wantSummary: "0 passed, 2 failed, 0 skipped",
			wantOut:     []string{"FAIL x/a\n    # x/a\nFAIL x/b\n    # x/b\n"},
		},
		{
			name: "fuzz target run counts as one test",
			json: stream(
				`{"Action":"output",`+pkg+`,"Test":"FuzzX","Output":"fuzz: elapsed: 3s, execs: 100\n"}`,
				`{"Action":"pass",`+pkg+`,"Test":"FuzzX","Elapsed":3.1}`,
				`{"Action":"pass",`+pkg+`,"Elapsed":3.2}`,
			),
			wantSummary: "1 passed, 0 failed, 0 skipped",
			wantOK:      true,
		},
		{
			name:        "go command failed before testing",
			json:        "",
			exitErr:     errors.New("exit status 1"),
			stderr:      "go: go.mod requires go >= 9.0\n",
			wantSummary: "0 passed, 1 failed, 0 skipped",
			wantOut:     []string{"go.mod requires go >= 9.0"},
		},
		{
			name:        "no test files is not a skip",
			json:        stream(`{"Action":"skip",` + pkg + `,"Elapsed":0}`),
			wantSummary: "0 passed, 0 failed, 0 skipped",
			wantOK:      true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			ta := &tally{out: &out}
			j := ta.newJob("m/...")
			if err := j.read(strings.NewReader(tt.json)); err != nil {
				t.Fatal(err)
			}
			j.finish(tt.exitErr, tt.stderr)
			if ok := ta.summary(); ok != tt.wantOK {
				t.Errorf("summary ok = %v, want %v", ok, tt.wantOK)
			}
			got := out.String()
			lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
			if last := lines[len(lines)-1]; last != tt.wantSummary {
				t.Errorf("last line %q, want %q; output:\n%s", last, tt.wantSummary, got)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNotOut {
				if strings.Contains(got, w) {
					t.Errorf("output has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestSkipReason(t *testing.T) {
	tests := []struct{ out, want string }{
		{"=== RUN   TestX\n    x_test.go:12: skipping: node is not installed\n--- SKIP: TestX (0.00s)\n", "skipping: node is not installed"},
		{"=== RUN   TestX\n    x_test.go:3: first\n    x_test.go:4: the skip: with a colon\n--- SKIP: TestX\n", "the skip: with a colon"},
		{"=== RUN   TestX\n--- SKIP: TestX (0.00s)\n", "(no reason given)"},
	}
	for _, tt := range tests {
		if got := skipReason(tt.out); got != tt.want {
			t.Errorf("skipReason(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module a\n")
	write("sub/go.mod", "module b\n")
	write("node/node_modules/x/go.mod", "module c\n")
	write("a_test.go", "package a\nfunc FuzzA(f *testing.F) {}\nfunc FuzzB(f *testing.F) {}\n// func FuzzNot(\n")
	write("sub/b_test.go", "package b\nfunc FuzzC(f *testing.F) {}\n")
	write("a.go", "package a\nfunc FuzzNotATest() {}\n")

	modules, fuzz, err := discover(root)
	if err != nil {
		t.Fatal(err)
	}
	wantMods := []string{root, filepath.Join(root, "sub")}
	if strings.Join(modules, ",") != strings.Join(wantMods, ",") {
		t.Errorf("modules %v, want %v", modules, wantMods)
	}
	var got []string
	for _, f := range fuzz {
		rel, _ := filepath.Rel(root, f.dir)
		got = append(got, rel+":"+f.target)
	}
	if want := ".:FuzzA,.:FuzzB,sub:FuzzC"; strings.Join(got, ",") != want {
		t.Errorf("fuzz targets %v, want %s", got, want)
	}
}

func TestEngineTimedOut(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want bool
	}{
		{"engine deadline", `{"Output":"    --- FAIL: FuzzX (3.53s)\n"}` + "\n" + `{"Output":"        context deadline exceeded\n"}`, true},
		{"a real finding", `{"Output":"context deadline exceeded\n"}` + "\n" + `{"Output":"Failing input written to testdata/fuzz/FuzzX/abc\n"}`, false},
		{"an ordinary failure", `{"Output":"--- FAIL: FuzzX\n    x_test.go:12: bad\n"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := engineTimedOut([]byte(tt.out)); got != tt.want {
				t.Fatalf("engineTimedOut = %v, want %v", got, tt.want)
			}
		})
	}
}
