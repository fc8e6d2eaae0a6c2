package bot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shipgate/shipgate/truncate"
)

// CommandKind names what a /deliver command asks for.
type CommandKind string

// The subcommands of /deliver. CmdDeliver has no word of its own: a command whose first word is not one
// of the others is a delivery.
const (
	CmdDeliver   CommandKind = "deliver"   // /deliver SERVICE IMAGE [--project P] [--stage S] [--label k=v]...
	CmdStatus    CommandKind = "status"    // /deliver status [ID]
	CmdHistory   CommandKind = "history"   // /deliver history SERVICE [--stage S] [--project P]
	CmdAbort     CommandKind = "abort"     // /deliver abort ID [--stage S]
	CmdPause     CommandKind = "pause"     // /deliver pause ID [--stage S]
	CmdResume    CommandKind = "resume"    // /deliver resume ID [--stage S]
	CmdRollback  CommandKind = "rollback"  // /deliver rollback SERVICE STAGE [--project P]
	CmdUnfreeze  CommandKind = "unfreeze"  // /deliver unfreeze ID --reason "…"
	CmdFreezes   CommandKind = "freezes"   // /deliver freezes
	CmdApprovals CommandKind = "approvals" // /deliver approvals
	CmdStats     CommandKind = "stats"     // /deliver stats SERVICE [--stage S] [--project P]
	CmdAudit     CommandKind = "audit"     // /deliver audit [--since 7d]
	CmdHelp      CommandKind = "help"      // /deliver help [SUBCOMMAND]   (also: empty text)
)

// Command is a parsed /deliver command.
type Command struct {
	Kind    CommandKind
	Service string
	Image   string
	Project string
	// Stage is --stage, or rollback's STAGE argument.
	Stage      string
	Labels     map[string]string // nil when none
	DeliveryID int64             // status (0: none given), abort, pause, resume
	Topic      CommandKind       // help: the subcommand asked about, "" for all
	// Since is audit's --since: how far back to look (0: the default).
	Since time.Duration
	// Reason is unfreeze's --reason, kept in the audit trail.
	Reason string
}

// UsageError is a command that cannot be parsed: Message says what is wrong in one sentence a user
// reads; Usage is the usage of the subcommand concerned (or the whole help when none).
type UsageError struct{ Message, Usage string }

// Error returns the Message only, so that callers can show the Usage apart (in a code block).
func (e *UsageError) Error() string { return e.Message }

// Limits on what a command may hold. maxCommandLen is well above any command a person types and keeps a
// pasted log from being tokenized and echoed back; 63 is Keptn's limit on project, stage and service
// names; 512 bounds an image reference (the engine validates it in detail).
const (
	maxCommandLen = 4000
	maxNameLen    = 63
	maxImageLen   = 512
	// maxEcho is how much of a user's token an error message quotes back.
	maxEcho = 60
	// maxReason bounds unfreeze's --reason, as the engine does.
	maxReason = 500
)

// flagID is one of the flags /deliver knows.
type flagID int

const (
	flagProject flagID = iota
	flagStage
	flagLabel
	flagSince
	flagReason
)

// cmdFlagNames maps every spelling of a flag (after its dashes) to the flag; long names take "--", the
// one-letter ones "-".
var (
	cmdLongFlags  = map[string]flagID{"project": flagProject, "stage": flagStage, "label": flagLabel, "since": flagSince, "reason": flagReason}
	cmdShortFlags = map[string]flagID{"p": flagProject, "s": flagStage, "l": flagLabel}
	cmdFlagUsage  = map[flagID]string{flagProject: "--project P", flagStage: "--stage S", flagLabel: "--label k=v", flagSince: "--since 7d", flagReason: `--reason "…"`}
	cmdFlagLong   = map[flagID]string{flagProject: "--project", flagStage: "--stage", flagLabel: "--label", flagSince: "--since", flagReason: "--reason"}
)

// subcommand describes one subcommand for the parser and the help.
type subcommand struct {
	kind  CommandKind
	usage string
	about string
	flags []flagID
	// flagHelp explains each flag as this subcommand reads it, in the order of flags.
	flagHelp []string
}

// subcommands lists the subcommands in the order the help shows them.
var subcommands = []subcommand{
	{kind: CmdDeliver, usage: "/deliver SERVICE IMAGE [--project P] [--stage S] [--label k=v]...",
		about: "start a delivery of IMAGE to SERVICE",
		flags: []flagID{flagProject, flagStage, flagLabel},
		flagHelp: []string{"the project, when several projects of this channel have SERVICE",
			"the stage to start in, instead of the first", "a label for the delivery, such as version=v1.2.3; repeatable"}},
	{kind: CmdStatus, usage: "/deliver status [ID]", about: "show the latest deliveries, or delivery ID"},
	{kind: CmdHistory, usage: "/deliver history SERVICE [--stage S] [--project P]", about: "show the last deliveries of SERVICE",
		flags:    []flagID{flagStage, flagProject},
		flagHelp: []string{"only deliveries that reached stage S", "the project, when several projects of this channel have SERVICE"}},
	{kind: CmdAbort, usage: "/deliver abort ID [--stage S]", about: "stop delivery ID",
		flags: []flagID{flagStage}, flagHelp: []string{"stop only its run in stage S"}},
	{kind: CmdPause, usage: "/deliver pause ID [--stage S]", about: "pause delivery ID before its next task",
		flags: []flagID{flagStage}, flagHelp: []string{"pause only its run in stage S"}},
	{kind: CmdResume, usage: "/deliver resume ID [--stage S]", about: "resume a paused delivery ID",
		flags: []flagID{flagStage}, flagHelp: []string{"resume only its run in stage S"}},
	{kind: CmdRollback, usage: "/deliver rollback SERVICE STAGE [--project P]", about: "run the rollback sequence of SERVICE in STAGE",
		flags: []flagID{flagProject}, flagHelp: []string{"the project, when several projects of this channel have SERVICE"}},
	{kind: CmdUnfreeze, usage: `/deliver unfreeze ID --reason "…"`, about: "start delivery ID now, though a freeze window holds it (role freeze-exempt)",
		flags: []flagID{flagReason}, flagHelp: []string{"why it cannot wait, for the audit trail (required)"}},
	{kind: CmdFreezes, usage: "/deliver freezes", about: "list the freeze windows in force and the next ones"},
	{kind: CmdApprovals, usage: "/deliver approvals", about: "list the approvals waiting for you"},
	{kind: CmdStats, usage: "/deliver stats SERVICE [--stage S] [--project P]", about: "show the DORA figures of SERVICE for the last 30 days",
		flags:    []flagID{flagStage, flagProject},
		flagHelp: []string{"the stage deployments count in, instead of the last (production)", "the project, when several projects of this channel have SERVICE"}},
	{kind: CmdAudit, usage: "/deliver audit [--since 7d]", about: "show the audit trail of this channel's projects (role auditor)",
		flags: []flagID{flagSince}, flagHelp: []string{"how far back: 30m, 12h, 7d (default 7d)"}},
	{kind: CmdHelp, usage: "/deliver help [SUBCOMMAND]", about: "show this help, or the help of one subcommand"},
}

func subcommandOf(kind CommandKind) (subcommand, bool) {
	i := slices.IndexFunc(subcommands, func(s subcommand) bool { return s.kind == kind })
	if i < 0 {
		return subcommand{}, false
	}
	return subcommands[i], true
}

// Help returns the full help text (all subcommands, one line each with a short explanation) when topic
// is "", else the usage of one subcommand with its flags. An unknown topic gets the full help.
func Help(topic CommandKind) string {
	if sc, ok := subcommandOf(topic); ok && topic != "" {
		var b strings.Builder
		b.WriteString(sc.usage + "\n  " + strings.ToUpper(sc.about[:1]) + sc.about[1:] + ".")
		for i, f := range sc.flags {
			name := cmdFlagLong[f]
			if short := map[flagID]string{flagProject: "-p", flagStage: "-s", flagLabel: "-l"}[f]; short != "" {
				name += ", " + short
			}
			fmt.Fprintf(&b, "\n  %-14s %s", name, sc.flagHelp[i])
		}
		if topic == CmdDeliver {
			b.WriteString("\n  A service cannot be named like a subcommand.")
		}
		return b.String()
	}
	width := 0
	for _, sc := range subcommands {
		width = max(width, len(sc.usage))
	}
	lines := make([]string, 0, len(subcommands)+2)
	for _, sc := range subcommands {
		lines = append(lines, fmt.Sprintf("%-*s  %s", width, sc.usage, sc.about))
	}
	lines = append(lines,
		"ID is a delivery number such as 42 or #42. Flags: -p/--project, -s/--stage, -l/--label; -- ends them.",
		"Names are Keptn names (a-z, 0-9, -); a service cannot be named like a subcommand.")
	return strings.Join(lines, "\n")
}

// usageError builds a *UsageError for kind ("" for the whole help).
func usageError(kind CommandKind, format string, args ...any) error {
	return &UsageError{Message: fmt.Sprintf(format, args...), Usage: Help(kind)}
}

// ParseCommand parses the text after "/deliver". Errors are *UsageError.
//
// The text is split into words like a small shell does: whitespace separates words, and single or double
// quotes (also the typographic ‘ ’ “ ” that Slack and phones substitute) group words and may be joined
// to what touches them; there are no backslash escapes. An unquoted word that is wholly a Slack link,
// <http://x|label> or <http://x>, reads as its label, else as the link without its http://, https:// or
// mailto: scheme, because Slack linkifies image references such as ghcr.io/x/y:v1. A quoted word is
// taken literally.
//
// The first word picks the subcommand (case-insensitively); any other first word starts a delivery,
// SERVICE IMAGE. So a service cannot be named like a subcommand: such a name is refused, wherever it
// stands. Flags (--project P, --project=P, -p P; --stage/-s; --label/-l k=v, repeatable) may come before
// or after the arguments; "--" ends them. Typographic dashes (— and –, which phones and macOS type for
// "--") count as "--". Empty text asks for help.
func ParseCommand(text string) (Command, error) {
	if len(text) > maxCommandLen {
		return Command{}, usageError("", "command is too long: at most %d bytes", maxCommandLen)
	}
	if !utf8.ValidString(text) {
		return Command{}, usageError("", "command is not valid text (invalid UTF-8)")
	}
	words, err := splitWords(text)
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{Kind: CmdHelp}, nil
	}
	c := Command{Kind: CmdDeliver}
	if k, ok := subcommandWord(words[0]); ok {
		c.Kind = k
		words = words[1:]
	}
	sc, _ := subcommandOf(c.Kind)
	args, err := c.parseFlags(sc, words)
	if err != nil {
		return Command{}, err
	}
	if err := c.parseArgs(sc, args); err != nil {
		return Command{}, err
	}
	return c, nil
}

// subcommandWord reports which subcommand w names; "deliver" names none, since a delivery has no word.
func subcommandWord(w string) (CommandKind, bool) {
	k := CommandKind(strings.ToLower(w))
	if _, ok := subcommandOf(k); ok && k != CmdDeliver {
		return k, true
	}
	return "", false
}

// Quote families: a quote opened by any member is closed by any member of its family, because phones
// and Slack pair a typed " with “ or ” unpredictably.
func isSingleQuote(r rune) bool { return r == '\'' || r == '‘' || r == '’' }
func isDoubleQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

// splitWords splits text into words (see ParseCommand).
func splitWords(text string) ([]string, error) {
	var (
		words  []string
		b      strings.Builder
		inWord bool
		quoted bool            // the current word had a quote in it
		closes func(rune) bool // the open quote's family; nil outside quotes
		opened rune
	)
	end := func() {
		if inWord {
			w := b.String()
			if !quoted {
				w = unwrapLink(w)
			}
			words = append(words, w)
		}
		b.Reset()
		inWord, quoted = false, false
	}
	for _, r := range text {
		switch {
		case closes != nil:
			if closes(r) {
				closes = nil
			} else {
				b.WriteRune(r)
			}
		case isSingleQuote(r):
			closes, opened, inWord, quoted = isSingleQuote, r, true, true
		case isDoubleQuote(r):
			closes, opened, inWord, quoted = isDoubleQuote, r, true, true
		case unicode.IsSpace(r):
			end()
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if closes != nil {
		return nil, usageError("", "unterminated quote: the %c has no closing quote", opened)
	}
	end()
	return words, nil
}

// unwrapLink undoes Slack's link markup on a whole word: <url|label> reads as label, <url> as url
// without its scheme.
func unwrapLink(w string) string {
	if len(w) < 2 || w[0] != '<' || w[len(w)-1] != '>' {
		return w
	}
	w = w[1 : len(w)-1]
	if _, label, ok := strings.Cut(w, "|"); ok {
		return label
	}
	for _, scheme := range []string{"http://", "https://", "mailto:"} {
		if len(w) >= len(scheme) && strings.EqualFold(w[:len(scheme)], scheme) {
			return w[len(scheme):]
		}
	}
	return w
}

// dashed reports whether w starts with a dash a flag could start with, and returns w with a leading
// typographic dash turned into "--".
func dashed(w string) (string, bool) {
	for _, d := range []string{"—", "–"} {
		if rest, ok := strings.CutPrefix(w, d); ok {
			return "--" + rest, true
		}
	}
	return w, strings.HasPrefix(w, "-")
}

// isFlagWord reports whether w is read as a flag (or as the "--" that ends them); a lone "-" is not.
func isFlagWord(w string) bool {
	w, ok := dashed(w)
	return ok && len(w) > 1
}

// parseFlags reads the flags among words into c and returns the other words, the arguments.
func (c *Command) parseFlags(sc subcommand, words []string) ([]string, error) {
	var args []string
	for i := 0; i < len(words); i++ {
		w, _ := dashed(words[i])
		if w == "--" {
			return append(args, words[i+1:]...), nil
		}
		if !isFlagWord(w) {
			args = append(args, words[i])
			continue
		}
		name, value, hasValue := strings.Cut(w, "=")
		var f flagID
		var known bool
		if long, ok := strings.CutPrefix(name, "--"); ok {
			f, known = cmdLongFlags[long]
		} else {
			f, known = cmdShortFlags[name[1:]]
		}
		if !known || !slices.Contains(sc.flags, f) {
			return nil, flagError(sc, name, known, f)
		}
		if !hasValue {
			if i+1 < len(words) && !isFlagWord(words[i+1]) {
				i++
				value = words[i]
			}
		}
		if value == "" {
			return nil, usageError(sc.kind, "%s needs a value: %s", cmdFlagLong[f], cmdFlagUsage[f])
		}
		if err := c.setFlag(sc, f, value); err != nil {
			return nil, err
		}
	}
	return args, nil
}

// flagError says that flag name cannot be used with sc, and which flags can.
func flagError(sc subcommand, name string, known bool, f flagID) error {
	shown := fmt.Sprintf("%q", truncate.Excerpt(name, maxEcho))
	if known {
		shown = cmdFlagLong[f]
	}
	what := fmt.Sprintf("unknown flag %s", shown)
	if known {
		what = fmt.Sprintf("%s cannot be used with %s", shown, sc.kind)
	}
	valid := make([]string, len(sc.flags))
	for i, f := range sc.flags {
		valid[i] = cmdFlagUsage[f]
	}
	switch {
	case known && f == flagStage && sc.kind == CmdRollback:
		// Rollback's stage is an argument because it is required; say so instead of a bare refusal.
		return usageError(sc.kind, "%s: give the stage as the second argument, as in /deliver rollback SERVICE STAGE", what)
	case len(valid) == 0:
		return usageError(sc.kind, "%s: %s takes no flags", what, sc.kind)
	}
	return usageError(sc.kind, "%s: %s takes %s", what, sc.kind, strings.Join(valid, ", "))
}

func (c *Command) setFlag(sc subcommand, f flagID, value string) error {
	switch f {
	case flagProject, flagStage:
		field, what := &c.Project, "project"
		if f == flagStage {
			field, what = &c.Stage, "stage"
		}
		if *field != "" {
			return usageError(sc.kind, "%s is given twice", cmdFlagLong[f])
		}
		if err := checkName(sc.kind, what, value); err != nil {
			return err
		}
		*field = value
	case flagReason:
		if c.Reason != "" {
			return usageError(sc.kind, "--reason is given twice")
		}
		switch {
		case strings.TrimSpace(value) == "":
			return usageError(sc.kind, `--reason is blank: say why, as in --reason "hotfix for INC-42"`)
		case len(value) > maxReason:
			return usageError(sc.kind, "--reason is too long: at most %d bytes", maxReason)
		}
		c.Reason = value
	case flagSince:
		if c.Since != 0 {
			return usageError(sc.kind, "--since is given twice")
		}
		d, err := ParseSince(value)
		if err != nil {
			return usageError(sc.kind, "%v", err)
		}
		c.Since = d
	case flagLabel:
		k, v, ok := strings.Cut(value, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok:
			return usageError(sc.kind, "--label needs key=value, not %q", truncate.Excerpt(value, maxEcho))
		case k == "":
			return usageError(sc.kind, "--label %q has no key before the =", truncate.Excerpt(value, maxEcho))
		case strings.ContainsFunc(k, func(r rune) bool { return !isLabelKeyRune(r) }):
			return usageError(sc.kind, "label key %q may have only letters, digits and . _ - /", truncate.Excerpt(k, maxEcho))
		}
		if _, dup := c.Labels[k]; dup {
			return usageError(sc.kind, "label %q is given twice", truncate.Excerpt(k, maxEcho))
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[k] = v
	}
	return nil
}

func isLabelKeyRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r))
}

// parseArgs reads the arguments of sc into c; their number is exact.
func (c *Command) parseArgs(sc subcommand, args []string) error {
	// names are the arguments sc takes, in the words of its usage; the optional ones are marked.
	var names []string
	optional := 0
	switch sc.kind {
	case CmdDeliver:
		names = []string{"SERVICE", "IMAGE"}
		// Checked first: "--stage qa status" means status, not a service, and saying so beats "missing IMAGE".
		if len(args) > 0 {
			if k, ok := subcommandWord(args[0]); ok {
				return usageError(k, "%s is a subcommand, so it must come first (and no service can be named %s)", k, k)
			}
		}
	case CmdStatus:
		names, optional = []string{"ID"}, 1
	case CmdHistory, CmdStats:
		names = []string{"SERVICE"}
	case CmdAbort, CmdPause, CmdResume:
		names = []string{"ID"}
	case CmdUnfreeze:
		names = []string{"ID"}
		if c.Reason == "" {
			return usageError(sc.kind, `missing --reason: /deliver unfreeze ID --reason "why it cannot wait"`)
		}
	case CmdRollback:
		names = []string{"SERVICE", "STAGE"}
	case CmdHelp:
		names, optional = []string{"SUBCOMMAND"}, 1
	}
	if len(args) > len(names) {
		if len(names) == 0 {
			return usageError(sc.kind, "unexpected %q: /deliver %s takes no arguments", truncate.Excerpt(args[len(names)], maxEcho), sc.kind)
		}
		return usageError(sc.kind, "unexpected %q: %s takes %s", truncate.Excerpt(args[len(names)], maxEcho), sc.usage, countWord(len(names)))
	}
	if missing := names[len(args):]; len(missing) > optional {
		missing = missing[:len(missing)-optional]
		return usageError(sc.kind, "missing %s: %s", strings.Join(missing, " and "), strings.TrimSuffix(sc.usage[:strings.Index(sc.usage+" [", " [")], "..."))
	}
	var err error
	for i, a := range args {
		switch names[i] {
		case "SERVICE":
			c.Service, err = a, checkName(sc.kind, "service", a)
		case "STAGE":
			c.Stage, err = a, checkName(sc.kind, "stage", a)
		case "IMAGE":
			c.Image, err = a, checkImage(a)
		case "ID":
			c.DeliveryID, err = parseDeliveryID(sc.kind, a)
		case "SUBCOMMAND":
			c.Topic, err = parseTopic(a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func countWord(n int) string {
	if n == 1 {
		return "one argument"
	}
	return "two arguments"
}

// checkName applies Keptn's rule for project, stage and service names: ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$,
// at most 63 characters (they become Kubernetes names there).
func checkName(kind CommandKind, what, name string) error {
	ok := name != "" && len(name) <= maxNameLen && name[0] != '-' && name[len(name)-1] != '-' &&
		!strings.ContainsFunc(name, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') })
	if ok {
		return nil
	}
	return usageError(kind, "invalid %s name %q: use lowercase letters, digits and dashes, starting and ending with a letter or digit, at most %d characters",
		what, truncate.Excerpt(name, maxEcho), maxNameLen)
}

// checkImage does the checks that need no knowledge of image references; the engine parses it.
func checkImage(image string) error {
	switch {
	case image == "":
		return usageError(CmdDeliver, "IMAGE is empty: /deliver SERVICE IMAGE")
	case len(image) > maxImageLen:
		return usageError(CmdDeliver, "image %q is too long: at most %d characters", truncate.Excerpt(image, maxEcho), maxImageLen)
	case strings.ContainsFunc(image, unicode.IsSpace):
		return usageError(CmdDeliver, "image %q has a space in it", truncate.Excerpt(image, maxEcho))
	}
	return nil
}

// parseDeliveryID reads 42 or #42, as the cards show ids.
func parseDeliveryID(kind CommandKind, s string) (int64, error) {
	digits := strings.TrimPrefix(s, "#")
	if digits != "" && !strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
		if id, err := strconv.ParseInt(digits, 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, usageError(kind, "delivery id must be a number such as 42, not %q", truncate.Excerpt(s, maxEcho))
}

func parseTopic(s string) (CommandKind, error) {
	k := CommandKind(strings.ToLower(s))
	if _, ok := subcommandOf(k); ok {
		return k, nil
	}
	names := make([]string, len(subcommands))
	for i, sc := range subcommands {
		names[i] = string(sc.kind)
	}
	return "", usageError(CmdHelp, "unknown subcommand %q: ask about one of %s", truncate.Excerpt(s, maxEcho), strings.Join(names, ", "))
}

// String renders c in canonical form, which ParseCommand reads back to an equal Command: the
// subcommand, its arguments, then --project, --stage and --label flags (labels sorted by key), quoting
// what needs it, e.g. `helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1 --project fulltour --stage
// qa --label version=v0.1.1`, `status 42`, `help rollback`. Flags are written long, so the canonical form
// of a command near the length limit that used -p, -s or -l can exceed the limit.
func (c Command) String() string {
	var head, args, flags []string
	project, stage, labels := c.Project, c.Stage, c.Labels
	id := ""
	if c.DeliveryID != 0 {
		id = strconv.FormatInt(c.DeliveryID, 10)
	}
	switch c.Kind {
	case CmdDeliver:
		args = []string{c.Service, c.Image}
	case CmdStatus:
		head, project, stage, labels = []string{"status"}, "", "", nil
		if id != "" {
			args = []string{id}
		}
	case CmdHistory, CmdStats:
		head, args, labels = []string{string(c.Kind)}, []string{c.Service}, nil
	case CmdAudit:
		if c.Since == 0 {
			return "audit"
		}
		return "audit --since " + sinceWord(c.Since)
	case CmdAbort, CmdPause, CmdResume:
		head, args, project, labels = []string{string(c.Kind)}, []string{id}, "", nil
	case CmdRollback:
		head, args, stage, labels = []string{"rollback"}, []string{c.Service, c.Stage}, "", nil
	case CmdUnfreeze:
		reason := "--reason " + quoteWord(c.Reason)
		if isFlagWord(c.Reason) {
			reason = "--reason=" + quoteWord(c.Reason)
		}
		return "unfreeze " + id + " " + reason
	case CmdFreezes:
		return "freezes"
	case CmdApprovals:
		return "approvals"
	case CmdHelp:
		if c.Topic == "" {
			return "help"
		}
		return "help " + quoteWord(string(c.Topic))
	default:
		return quoteWord(string(c.Kind))
	}
	if project != "" {
		flags = append(flags, "--project", quoteWord(project))
	}
	if stage != "" {
		flags = append(flags, "--stage", quoteWord(stage))
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kv := k + "=" + labels[k]
		if isFlagWord(kv) {
			// A separate value that looks like a flag would read as a missing value.
			flags = append(flags, "--label="+quoteWord(kv))
		} else {
			flags = append(flags, "--label", quoteWord(kv))
		}
	}
	ended := false
	for i, a := range args {
		if _, dash := dashed(a); dash {
			ended = true
		}
		args[i] = quoteWord(a)
	}
	parts := head
	if ended {
		// An argument that starts with a dash must follow "--", and so after the flags.
		parts = append(append(append(parts, flags...), "--"), args...)
	} else {
		parts = append(append(parts, args...), flags...)
	}
	return strings.Join(parts, " ")
}

// quoteWord quotes w so that splitWords reads it back as one word equal to w.
func quoteWord(w string) string {
	special := func(r rune) bool { return unicode.IsSpace(r) || isSingleQuote(r) || isDoubleQuote(r) }
	if w != "" && !strings.ContainsFunc(w, special) && unwrapLink(w) == w {
		return w
	}
	if !strings.ContainsFunc(w, isSingleQuote) {
		return "'" + w + "'"
	}
	if !strings.ContainsFunc(w, isDoubleQuote) {
		return `"` + w + `"`
	}
	// Both kinds of quote: alternate runs, joined into one word.
	var b strings.Builder
	for w != "" {
		single := strings.IndexFunc(w, isSingleQuote) == 0
		n := strings.IndexFunc(w, func(r rune) bool { return isSingleQuote(r) != single })
		if n < 0 {
			n = len(w)
		}
		if single {
			b.WriteString(`"` + w[:n] + `"`)
		} else {
			b.WriteString("'" + w[:n] + "'")
		}
		w = w[n:]
	}
	return b.String()
}
