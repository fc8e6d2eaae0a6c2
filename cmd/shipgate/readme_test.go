package main

import (
	"bufio"
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
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		all     []transcript
		cur     *transcript
		inBlock bool
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			if inBlock && cur != nil && len(cur.steps) > 0 {
				all = append(all, *cur)
			}
			inBlock, cur = !inBlock, &transcript{line: n}
		case !inBlock:
		case strings.HasPrefix(line, "$ "):
			cur.steps = append(cur.steps, step{line: n, command: strings.TrimPrefix(line, "$ ")})
		case len(cur.steps) > 0:
			last := &cur.steps[len(cur.steps)-1]
			last.output = append(last.output, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
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

// readmeBlocks returns the text of every fenced block of the README at path.
func readmeBlocks(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			if in {
				blocks = append(blocks, strings.Join(cur, "\n"))
			}
			in, cur = !in, nil
			continue
		}
		if in {
			cur = append(cur, line)
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
