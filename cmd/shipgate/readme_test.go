package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// A README transcript is a fenced block whose lines start with "$ ": each such line is a command a reader
// types, and the lines up to the next command are exactly what it prints (standard output and standard
// error, as a terminal shows them). TestREADMETranscripts runs every transcript of README.md with the real
// binary, in a folder holding a copy of examples/, and compares what each command printed with what the
// README says it prints, so that the README's samples cannot drift from what shipgate does.

// transcript is one fenced block of README.md that holds commands.
type transcript struct {
	line  int // of the opening fence, 1-based
	steps []step
}

// step is one command of a transcript and what it prints.
type step struct {
	line    int
	command string
	output  []string
}

// readmeTranscripts returns the transcripts of the README at path.
func readmeTranscripts(t *testing.T, path string) []transcript {
	t.Helper()
	var all []transcript
	for _, b := range readmeBlocks(t, path) {
		tr := transcript{line: b.line}
		for i, line := range b.lines {
			switch {
			case strings.HasPrefix(line, "$ "):
				tr.steps = append(tr.steps, step{line: b.line + 1 + i, command: strings.TrimPrefix(line, "$ ")})
			case len(tr.steps) > 0:
				last := &tr.steps[len(tr.steps)-1]
				last.output = append(last.output, line)
			}
		}
		if len(tr.steps) > 0 {
			all = append(all, tr)
		}
	}
	return all
}

func TestREADMETranscripts(t *testing.T) {
	transcripts := readmeTranscripts(t, readmePath(t))
	// The README's samples of validate and evaluate are transcripts; if one stopped being one (its "$ "
	// dropped), this test would silently check less.
	var commands []string
	for _, tr := range transcripts {
		for _, s := range tr.steps {
			commands = append(commands, s.command)
		}
	}
	for _, want := range []string{"shipgate validate --project", "shipgate evaluate --slo"} {
		if !strings.Contains(strings.Join(commands, "\n"), want) {
			t.Errorf("README.md has no transcript running %q", want)
		}
	}
	bin := filepath.Dir(shipgateBinary(t))
	examples := filepath.Join(filepath.Dir(readmePath(t)), "examples")
	for _, tr := range transcripts {
		t.Run(strings.Fields(tr.steps[0].command)[0]+"@"+strconv.Itoa(tr.line), func(t *testing.T) {
			dir := t.TempDir()
			if out, err := exec.Command("cp", "-R", examples, filepath.Join(dir, "examples")).CombinedOutput(); err != nil {
				t.Fatalf("copy examples: %v\n%s", err, out)
			}
			for _, s := range tr.steps {
				cmd := exec.Command("sh", "-c", s.command+" 2>&1")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
				out, _ := cmd.Output() // the exit status is part of the sample only through what it prints
				got := strings.TrimRight(string(out), "\n")
				want := strings.Join(s.output, "\n")
				if got != want {
					t.Errorf("README.md:%d: $ %s\n--- printed\n%s\n--- README.md says\n%s", s.line, s.command, got, want)
				}
			}
		})
	}
}

// block is one fenced block of the README.
type block struct {
	line  int // of the opening fence, 1-based
	lines []string
}

// readmeBlocks returns every fenced block of the README at path.
func readmeBlocks(t *testing.T, path string) []block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		blocks []block
		cur    *block
	)
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "```") && cur == nil:
			cur = &block{line: i + 1}
		case strings.HasPrefix(line, "```"):
			blocks, cur = append(blocks, *cur), nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	return blocks
}

// readmePath is the repository's README.md, found from this file's place so that a test that changed
// its working directory finds it too.
func readmePath(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information to find README.md")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "README.md")
}
