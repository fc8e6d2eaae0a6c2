package exec

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/shipgate/shipgate/config"
	"github.com/shipgate/shipgate/engine"
)

// Defaults and bounds of the settings.
const (
	DefaultKillGrace = 5 * time.Second
	DefaultMaxOutput = 1 << 20
	DefaultTailLines = 10
	// MaxMaxOutput bounds max_output: the output is kept in the task's result data, which is stored with the
	// delivery and passed on to every later task.
	MaxMaxOutput = 16 << 20
	// MaxTailLines bounds tail_lines; the message is cut to about 1,500 characters anyway.
	MaxTailLines = 200
)

// rawSettings is `with:` as written; pointers tell a setting left out from one set to its zero value.
type rawSettings struct {
	Command     []string          `yaml:"command"`
	Shell       *string           `yaml:"shell"`
	Env         map[string]string `yaml:"env"`
	Timeout     *time.Duration    `yaml:"timeout"`
	KillGrace   *time.Duration    `yaml:"kill_grace"`
	MaxOutput   *int              `yaml:"max_output"`
	TailLines   *int              `yaml:"tail_lines"`
	SLIFile     *string           `yaml:"sli_file"`
	Files       *bool             `yaml:"files"`
	commandNull bool              // command: written without a value
}

// settings are the validated settings with defaults resolved.
type settings struct {
	// argv is the command, or /bin/sh -c and the shell line.
	argv      []string
	shell     bool
	env       []envTemplate // sorted by name
	timeout   time.Duration // 0: only the task's deadline applies
	killGrace time.Duration
	maxOutput int
	tailLines int
	sliFile   string // relative to the work dir; "" puts SHIPGATE_SLI_FILE outside it
	files     bool
}

type envTemplate struct {
	name string
	tmpl *template.Template
}

// shellPath runs `shell:` settings. It is not looked up in PATH: the setting promises /bin/sh semantics.
const shellPath = "/bin/sh"

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseSettings decodes and validates `with:`, reporting every problem at once, each naming its setting.
func parseSettings(cfg map[string]any) (settings, error) {
	var raw rawSettings
	// A command line written as one string is the likeliest mistake; yaml would only say "not a valid
	// []string".
	if c, ok := cfg["command"]; ok {
		switch c := c.(type) {
		case string:
			return settings{}, fmt.Errorf("command must be a list of arguments such as [\"k6\", \"run\", \"load.js\"], not %q; use shell: for a command line run by /bin/sh", c)
		case nil:
			raw.commandNull = true
		}
	}
	if err := config.DecodeSettings(cfg, &raw); err != nil {
		return settings{}, err
	}
	return raw.validate()
}

func (r rawSettings) validate() (settings, error) {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	s := settings{killGrace: DefaultKillGrace, maxOutput: DefaultMaxOutput, tailLines: DefaultTailLines, files: true}

	hasCommand := r.Command != nil || r.commandNull
	switch {
	case hasCommand && r.Shell != nil:
		fail("set either command or shell, not both")
	case hasCommand && len(r.Command) == 0:
		fail("command is empty; expected the program and its arguments such as [\"k6\", \"run\", \"load.js\"]")
	case hasCommand && strings.TrimSpace(r.Command[0]) == "":
		fail("command: the program (its first element) is empty")
	case hasCommand:
		s.argv = r.Command
	case r.Shell != nil && strings.TrimSpace(*r.Shell) == "":
		fail("shell is empty; expected a command line such as \"k6 run load.js | tee out.txt\"")
	case r.Shell != nil:
		s.argv, s.shell = []string{shellPath, "-c", *r.Shell}, true
	default:
		fail("command or shell is required: command: [\"k6\", \"run\", \"load.js\"] runs a program, shell: \"k6 run load.js | tee out.txt\" a /bin/sh command line")
	}
	if slices.ContainsFunc(s.argv, func(a string) bool { return strings.ContainsRune(a, 0) }) {
		fail("%s contains a NUL character, which no program can receive", s.setting())
	}

	for _, name := range slices.Sorted(maps.Keys(r.Env)) {
		value := r.Env[name]
		switch {
		case !envName.MatchString(name):
			fail("env: %q is not a valid variable name; use letters, digits and underscores, not starting with a digit", name)
			continue
		case strings.HasPrefix(strings.ToUpper(name), "SHIPGATE_"):
			fail("env: %s: names starting with SHIPGATE_ are set by shipgate", name)
			continue
		case strings.ContainsRune(value, 0):
			fail("env: %s contains a NUL character", name)
			continue
		}
		tmpl, err := engine.ParseTemplate("env "+name, value)
		if err != nil {
			fail("%v", err)
			continue
		}
		s.env = append(s.env, envTemplate{name: name, tmpl: tmpl})
	}

	if r.Timeout != nil {
		if *r.Timeout <= 0 {
			fail("timeout must be positive, such as 5m; leave it out to use only the task's timeout")
		}
		s.timeout = *r.Timeout
	}
	if r.KillGrace != nil {
		if *r.KillGrace <= 0 {
			fail("kill_grace must be positive, such as 5s: how long a stopped command has between SIGTERM and SIGKILL")
		}
		s.killGrace = *r.KillGrace
	}
	if r.MaxOutput != nil {
		if *r.MaxOutput <= 0 || *r.MaxOutput > MaxMaxOutput {
			fail("max_output must be between 1 and %d bytes, got %d", MaxMaxOutput, *r.MaxOutput)
		}
		s.maxOutput = *r.MaxOutput
	}
	if r.TailLines != nil {
		if *r.TailLines < 0 || *r.TailLines > MaxTailLines {
			fail("tail_lines must be between 0 and %d, got %d", MaxTailLines, *r.TailLines)
		}
		s.tailLines = *r.TailLines
	}
	if r.SLIFile != nil {
		name := *r.SLIFile
		if !filepath.IsLocal(name) || strings.HasSuffix(name, "/") {
			fail("sli_file must be a file path inside the working directory, such as sli.json or out/sli.json, got %q", name)
		}
		s.sliFile = filepath.Clean(name)
	}
	if r.Files != nil {
		s.files = *r.Files
	}
	if len(problems) > 0 {
		return settings{}, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return s, nil
}

// display is the command as a user wrote it, for messages and logs.
func (s settings) display() string {
	if s.shell {
		return s.argv[2]
	}
	return strings.Join(s.argv, " ")
}

// setting names the setting that holds the command.
func (s settings) setting() string {
	if s.shell {
		return "shell"
	}
	return "command"
}
