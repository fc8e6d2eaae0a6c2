// Package contract type-checks the request bodies the chat platform fakes (slackfake, discordfake)
// record against the platforms' published TypeScript types, with `tsc --strict`. A fake checks what
// the platform checks as far as its authors read the docs; the published types are a second reading,
// written by the platforms' own SDK authors, and a body that does not satisfy them (a key the platform
// does not know, a null where it wants a value or nothing) fails the test.
//
//	contract.Check(t, fake.ContractPayloads())
//
// The tools are installed by `make contract-deps` into .cache/contract/node_modules (the environment
// variable SHIPGATE_CONTRACT_TOOLS names another node_modules directory). Without them Check fails the
// test, or skips it when SHIPGATE_SKIP_CONTRACT=1. Each payload is written as a TypeScript file,
//
//	import type { ChatPostMessageArguments } from '@slack/web-api';
//	export const payload: ChatPostMessageArguments = { …the JSON… };
//
// so that tsc applies excess-property checks to it as an object literal: a key the type does not have
// fails. The files stay in .cache/contract/out/PACKAGE/TEST after the test, for a look or a rerun of
// `node_modules/.bin/tsc -p .` there.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/shipgate/shipgate/modroot"
	"github.com/shipgate/shipgate/truncate"
)

// Payload is one request body a fake recorded, with the published type it must satisfy.
type Payload struct {
	// Type is a TypeScript type name exported by one of Modules, e.g. "ChatPostMessageArguments", or
	// one declared in Prelude, e.g. "SlackResponseURLMessage".
	Type string
	// What is a short label used in the file name and in messages, e.g. "chat.postMessage" or
	// "messages.create".
	What string
	// JSON is the body as JSON (an object or an array).
	JSON []byte
}

// Module is a module the payload files import their types from.
type Module struct {
	// Path is the import path, e.g. "@slack/web-api".
	Path string
	// Types are the type names Payload.Type may take from it.
	Types []string
	// Wire says the module declares string enums, so its types are checked as Wire<T> (see Prelude).
	Wire bool
}

// Modules are the modules a Payload.Type may come from. A name in more than one is taken from the
// first.
var Modules = []Module{
	{Path: "@slack/web-api", Types: []string{
		"ChatPostMessageArguments", "ChatUpdateArguments", "ChatPostEphemeralArguments", "ChatDeleteArguments",
		"ChatGetPermalinkArguments", "ViewsOpenArguments", "ViewsUpdateArguments", "ViewsPushArguments",
		"UsergroupsUsersListArguments", "FilesGetUploadURLExternalArguments", "FilesCompleteUploadExternalArguments",
	}},
	{Path: "@slack/types", Types: []string{
		"KnownBlock", "Block", "AnyBlock", "View", "ModalView", "MessageAttachment", "MessageMetadata",
	}},
	{Path: "discord-api-types/v10", Wire: true, Types: []string{
		"RESTPostAPIChannelMessageJSONBody", "RESTPatchAPIChannelMessageJSONBody",
		"RESTPostAPIChannelMessagesThreadsJSONBody", "APIInteractionResponse",
		"RESTPostAPIInteractionCallbackJSONBody", "RESTPatchAPIInteractionOriginalResponseJSONBody",
		"RESTPostAPIInteractionFollowupJSONBody", "RESTPatchAPIInteractionFollowupJSONBody",
		"RESTPutAPIApplicationGuildCommandsJSONBody", "RESTPutAPIApplicationCommandsJSONBody",
		"APIEmbed", "APIActionRowComponent", "APIMessageActionRowComponent", "APIAllowedMentions",
	}},
}

// preludeFile is the module, beside the payload files, that declares the Prelude's types.
const preludeFile = "prelude.ts"

// Prelude is the TypeScript module written beside the payloads as prelude.ts. It declares the types of
// bodies the platforms publish no type for, which Payload.Type may name, and Wire.
const Prelude = `// Types of request bodies the platforms publish no TypeScript type for, each following the
// documentation page cited above it, and Wire. Written by shipgate's adapters/chatfake/contract.
import type { KnownBlock } from '@slack/types';

interface SlackMessageFields {
  text?: string;
  blocks?: KnownBlock[];
  response_type?: 'ephemeral' | 'in_channel';
  thread_ts?: string;
  mrkdwn?: boolean;
}

// The JSON a Slack response_url accepts:
// https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
// It must have text or blocks unless it deletes the original message.
interface SlackResponseURLFields extends SlackMessageFields {
  replace_original?: boolean;
  delete_original?: boolean;
}
export type SlackResponseURLMessage =
  | (SlackResponseURLFields & { text: string })
  | (SlackResponseURLFields & { blocks: KnownBlock[] })
  | (SlackResponseURLFields & { delete_original: true });

// The immediate HTTP answer to a slash command:
// https://docs.slack.dev/interactivity/implementing-slash-commands#responding_to_commands
// It must have text or blocks.
export type SlackSlashCommandResponse =
  | (SlackMessageFields & { text: string })
  | (SlackMessageFields & { blocks: KnownBlock[] });

// Wire<T> is T as a JSON body carries it. TypeScript's string enums (discord-api-types' EmbedType,
// AllowedMentionsTypes, ...) accept only their own members, never the string a JSON body holds, so
// the literal "rich" is not an EmbedType. Wire replaces each string enum by the union of its values
// ("rich" | "image" | ...) and keeps everything else as published: objects (with their optional
// properties and excess-property checks), arrays and tuples, unions, literals and numeric enums (a
// number literal is a member of a numeric enum when it is one of its values). WireObject is its own
// alias so that tsc's messages name the type, as in WireObject<RESTPatchAPIChannelMessageJSONBody>.
export type Wire<T> = T extends string ? ` + "`${T}`" + ` : T extends object ? WireObject<T> : T;
export type WireObject<T> = { [K in keyof T]: Wire<T[K]> };
`

// preludeTypes are the types Prelude exports for Payload.Type.
var preludeTypes = []string{"SlackResponseURLMessage", "SlackSlashCommandResponse"}

// Environment variables.
const (
	// SkipEnv set to 1 skips the contract tests when the tools are missing.
	SkipEnv = "SHIPGATE_SKIP_CONTRACT"
	// ToolsEnv names the node_modules directory holding typescript and the platforms' type packages,
	// instead of .cache/contract/node_modules under the module root.
	ToolsEnv = "SHIPGATE_CONTRACT_TOOLS"
)

// tscTimeout bounds one tsc run. tsc 7 checks a few hundred payloads in about a second.
const tscTimeout = 2 * time.Minute

// toolset is where the tools are.
type toolset struct {
	root        string // the module root
	nodeModules string
	tsc         string
}

// tools finds the module root and the tools, or fails (or skips) t saying how to install them.
func tools(t testing.TB) toolset {
	t.Helper()
	root, err := modroot.Dir()
	if err != nil {
		t.Fatalf("contract: %v", err)
		return toolset{}
	}
	ts := toolset{root: root, nodeModules: filepath.Join(root, ".cache", "contract", "node_modules")}
	if dir := os.Getenv(ToolsEnv); dir != "" {
		if ts.nodeModules, err = filepath.Abs(dir); err != nil {
			t.Fatalf("contract: %s=%s: %v", ToolsEnv, dir, err)
			return toolset{}
		}
	}
	ts.tsc = filepath.Join(ts.nodeModules, ".bin", "tsc")
	var missing []string
	if _, err := os.Stat(ts.tsc); err != nil {
		missing = append(missing, "tsc")
	}
	for _, m := range []string{"typescript", "@slack/web-api", "@slack/types", "discord-api-types"} {
		if _, err := os.Stat(filepath.Join(ts.nodeModules, filepath.FromSlash(m), "package.json")); err != nil {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return ts
	}
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("contract: %s missing in %s and %s=1: skipping the contract check", strings.Join(missing, ", "), ts.nodeModules, SkipEnv)
		return toolset{}
	}
	t.Fatalf("contract: %s missing in %s: run `make contract-deps`, or set %s=1 to skip the contract check",
		strings.Join(missing, ", "), ts.nodeModules, SkipEnv)
	return toolset{}
}

// uses counts the calls of Check for each output directory in this process, so that a test that
// calls it more than once (for its Slack and its Discord fake, say), or calls made at the same time
// under one name, each get a directory of their own: DIR, then DIR.2, DIR.3, ….
var uses = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

var numbered = regexp.MustCompile(`\.[0-9]+$`)

// useDir returns the directory of the next call for base, wiped. The first call in the process also
// removes the base.N directories a previous run left.
func useDir(base string) (string, error) {
	// Held throughout: the first call's clean-up must not remove what a concurrent later call made.
	uses.Lock()
	defer uses.Unlock()
	uses.n[base]++
	n := uses.n[base]
	dir := base
	if n > 1 {
		dir = fmt.Sprintf("%s.%d", base, n)
	} else {
		old, _ := filepath.Glob(base + ".*")
		for _, o := range old {
			if numbered.MatchString(strings.TrimPrefix(o, base)) {
				if err := os.RemoveAll(o); err != nil {
					return "", err
				}
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitize makes s usable as one path element.
func sanitize(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "_.")
	if s == "" {
		return "_"
	}
	return s
}

// outDir is where the payloads of the test name are written: under the package's directory relative
// to the module root, so that tests of the same name in two packages, which go test runs at the same
// time, do not share it.
func outDir(ts toolset, name string) string {
	pkg := "_"
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(ts.root, wd); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			pkg = rel
		}
	}
	return filepath.Join(ts.root, ".cache", "contract", "out", pkg, sanitize(name))
}

// written is one payload as written.
type written struct {
	Payload
	ts, json string // absolute paths
	header   int    // lines of the .ts file before the one the JSON begins on
	prefix   int    // bytes of that line before the JSON
	pretty   []byte // the JSON as written
}

// Check writes payloads as TypeScript and type-checks them with tsc --strict against their Types. Each
// payload that does not type-check fails t with one t.Errorf naming its file, its What and the first
// error. Check may be called by several tests of one binary, in parallel; the payloads of a test go to
// .cache/contract/out/PACKAGE/TEST, written anew by each run of the test, where they stay after it. A
// test that calls Check more than once has its later calls' payloads in TEST.2, TEST.3, ….
func Check(t testing.TB, payloads []Payload) {
	t.Helper()
	ts := tools(t)
	if ts.tsc == "" {
		return // t.Fatalf or t.Skipf on a fake testing.TB that did not stop
	}
	if len(payloads) == 0 {
		t.Logf("contract: no payloads to check")
		return
	}
	dir, err := useDir(outDir(ts, t.Name()))
	if err != nil {
		t.Fatalf("contract: %v", err)
		return
	}
	files, err := write(dir, ts, payloads)
	if err != nil {
		t.Fatalf("contract: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), tscTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ts.tsc, "-p", ".")
	cmd.Dir = dir
	// tsc is a node script that runs the native compiler; should the timeout kill the script, do not
	// wait long for the compiler, which may still hold the output pipe.
	cmd.WaitDelay = 5 * time.Second
	out, runErr := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("contract: tsc -p %s did not finish in %v:\n%s", dir, tscTimeout, out)
		return
	}
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		t.Fatalf("contract: running %s: %v\n%s", ts.tsc, runErr, out)
		return
	}
	diags, stray := parseDiagnostics(string(out))
	if runErr == nil && len(diags) == 0 {
		t.Logf("contract: %d payloads type-check; they are in %s", len(files), dir)
		return
	}
	byFile := map[string]*written{}
	for i := range files {
		byFile[filepath.Base(files[i].ts)] = &files[i]
	}
	reported := map[string]bool{}
	var unexpected []string
	for _, d := range diags {
		f, ok := byFile[filepath.Base(d.file)]
		if !ok || filepath.Dir(filepath.Join(dir, d.file)) != dir {
			unexpected = append(unexpected, d.text())
			continue
		}
		if reported[d.file] {
			continue
		}
		reported[d.file] = true
		t.Errorf("contract: %s (%s) does not type-check as %s:\n%s\nnear:\n%s",
			f.ts, f.What, f.Type, d.text(), excerpt(f.pretty, d.line-f.header, d.col, f.prefix))
	}
	if len(unexpected) > 0 || len(reported) == 0 {
		// Errors in no payload's file (the prelude, the config) or none parseable: ours, not the payloads'.
		t.Fatalf("contract: tsc -p %s failed (%v)%s:\n%s", dir, runErr, strings.Join(append([]string{""}, unexpected...), "\n"), out)
		return
	}
	if len(stray) > 0 {
		t.Logf("contract: tsc also said:\n%s", strings.Join(stray, "\n"))
	}
}

// write writes the payload files, the prelude, tsconfig.json and the node_modules link into dir.
func write(dir string, ts toolset, payloads []Payload) ([]written, error) {
	if err := os.Symlink(ts.nodeModules, filepath.Join(dir, "node_modules")); err != nil {
		return nil, err
	}
	tsconfig := map[string]any{
		"compilerOptions": map[string]any{
			"strict": true, "noEmit": true, "module": "nodenext", "moduleResolution": "nodenext",
			"target": "es2022", "skipLibCheck": true, "types": []string{}, "pretty": false,
			"typeRoots": []string{"./node_modules/@types"},
		},
		"include": []string{"*.ts"},
	}
	if err := writeJSON(filepath.Join(dir, "tsconfig.json"), tsconfig); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, preludeFile), []byte(Prelude), 0o644); err != nil {
		return nil, err
	}
	files := make([]written, 0, len(payloads))
	width := max(3, len(strconv.Itoa(len(payloads))))
	for i, p := range payloads {
		mod, wire, err := typeModule(p.Type)
		if err != nil {
			return nil, fmt.Errorf("payload %d (%s): %v", i+1, p.What, err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, bytes.TrimSpace(p.JSON), "", "  "); err != nil {
			return nil, fmt.Errorf("payload %d (%s) is not JSON: %v: %s", i+1, p.What, err, truncate.Excerpt(string(p.JSON), 300))
		}
		base := fmt.Sprintf("%0*d-%s", width, i+1, sanitize(p.What))
		w := written{Payload: p, ts: filepath.Join(dir, base+".ts"), json: filepath.Join(dir, base+".json"), pretty: pretty.Bytes()}
		var src strings.Builder
		fmt.Fprintf(&src, "// %s, checked as %s.\n", p.What, p.Type)
		annotation := p.Type
		if mod == "" {
			fmt.Fprintf(&src, "import type { %s } from './prelude.js';\n", p.Type)
		} else {
			fmt.Fprintf(&src, "import type { %s } from '%s';\n", p.Type, mod)
			if wire {
				fmt.Fprintf(&src, "import type { Wire } from './prelude.js';\n")
				annotation = "Wire<" + p.Type + ">"
			}
		}
		w.header = strings.Count(src.String(), "\n")
		decl := "export const payload: " + annotation + " = "
		w.prefix = len(decl)
		fmt.Fprintf(&src, "%s%s;\n", decl, w.pretty)
		if err := os.WriteFile(w.ts, []byte(src.String()), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(w.json, append(slices.Clone(w.pretty), '\n'), 0o644); err != nil {
			return nil, err
		}
		files = append(files, w)
	}
	return files, nil
}

// typeModule returns the module exporting the type name ("" for the prelude) and whether it is checked
// as Wire<name>.
func typeModule(name string) (module string, wire bool, err error) {
	if slices.Contains(preludeTypes, name) {
		return "", false, nil
	}
	var known []string
	for _, m := range Modules {
		if slices.Contains(m.Types, name) {
			return m.Path, m.Wire, nil
		}
		known = append(known, m.Types...)
	}
	known = append(known, preludeTypes...)
	return "", false, fmt.Errorf("unknown type %q; Check knows %s", name, strings.Join(known, ", "))
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// diagnostic is one error tsc reported at a place in a file.
type diagnostic struct {
	file      string // as tsc printed it, relative to the output directory
	line, col int
	code, msg string
	more      []string // the indented lines that follow it
}

func (d diagnostic) text() string {
	s := fmt.Sprintf("%s(%d,%d): error %s: %s", d.file, d.line, d.col, d.code, d.msg)
	if len(d.more) > 0 {
		s += "\n" + strings.Join(d.more, "\n")
	}
	return s
}

var diagLine = regexp.MustCompile(`^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$`)

// parseDiagnostics parses tsc's non-pretty output: one "FILE(LINE,COL): error TSNNNN: message" line per
// error, followed by indented lines that belong to it. stray are the other non-empty lines.
func parseDiagnostics(out string) (diags []diagnostic, stray []string) {
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		if m := diagLine.FindStringSubmatch(l); m != nil {
			line, _ := strconv.Atoi(m[2])
			col, _ := strconv.Atoi(m[3])
			diags = append(diags, diagnostic{file: m[1], line: line, col: col, code: m[4], msg: m[5]})
			continue
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(diags) > 0 {
			diags[len(diags)-1].more = append(diags[len(diags)-1].more, l)
			continue
		}
		stray = append(stray, l)
	}
	return diags, stray
}

// excerptLen is about how much of a payload's JSON a failure quotes.
const excerptLen = 300

// excerpt quotes about excerptLen bytes of the JSON around line and col (1-based, col in UTF-16 code
// units as tsc counts), the error's place, marking it with ⟪here⟫. On the first line the JSON follows
// prefix bytes (ASCII) of the declaration.
func excerpt(pretty []byte, line, col, prefix int) string {
	s := string(pretty)
	lines := strings.Split(s, "\n")
	if line < 1 || line > len(lines) {
		return truncate.Excerpt(s, excerptLen)
	}
	at := 0
	for _, l := range lines[:line-1] {
		at += len(l) + 1
	}
	if line == 1 {
		col -= prefix
	}
	at += byteOffset(lines[line-1], col-1)
	start, end := max(0, at-excerptLen/2), min(len(s), at+excerptLen/2)
	// Cut on line boundaries, so that the indentation shows the nesting, or at least on runes.
	if i := strings.IndexByte(s[start:at], '\n'); i >= 0 && start > 0 {
		start += i + 1
	}
	for start > 0 && !utf8.RuneStart(s[start]) {
		start--
	}
	if i := strings.LastIndexByte(s[at:end], '\n'); i >= 0 && end < len(s) {
		end = at + i
	}
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end++
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("…\n")
	}
	b.WriteString(s[start:at])
	b.WriteString("⟪here⟫")
	b.WriteString(s[at:end])
	if end < len(s) {
		b.WriteString("\n…")
	}
	return b.String()
}

// byteOffset is the byte offset in line of its UTF-16 code unit units, within the line.
func byteOffset(line string, units int) int {
	if units <= 0 {
		return 0
	}
	n := 0
	for i, r := range line {
		if n >= units {
			return i
		}
		n += utf16.RuneLen(r)
	}
	return len(line)
}
