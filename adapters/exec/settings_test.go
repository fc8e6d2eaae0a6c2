package exec

import (
	"strings"
	"testing"
	"time"
)

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  map[string]any
		want string // "" for valid settings, else a part of the error
	}{
		{"command", map[string]any{"command": []any{"locust", "--headless", "-f", "locustfile.py"}}, ""},
		{"shell", map[string]any{"shell": "k6 run load.js | tee out.txt"}, ""},
		{"every setting", map[string]any{
			"command": []any{"k6", "run", "load.js"}, "env": map[string]any{"USERS": "10", "URL": "{{.DeploymentURL}}"},
			"timeout": "5m", "kill_grace": "10s", "max_output": 4096, "tail_lines": 0, "sli_file": "out/sli.json", "files": false,
		}, ""},
		{"nothing", nil, "command or shell is required"},
		{"both", map[string]any{"command": []any{"true"}, "shell": "true"}, "set either command or shell, not both"},
		{"command as a string", map[string]any{"command": "k6 run load.js"}, `command must be a list of arguments such as ["k6", "run", "load.js"], not "k6 run load.js"; use shell:`},
		{"empty command", map[string]any{"command": []any{}}, "command is empty"},
		{"null command", map[string]any{"command": nil}, "command is empty"},
		{"empty program", map[string]any{"command": []any{" ", "x"}}, "command: the program (its first element) is empty"},
		{"NUL in an argument", map[string]any{"command": []any{"echo", "a\x00b"}}, "command contains a NUL character"},
		{"empty shell", map[string]any{"shell": "  "}, "shell is empty"},
		{"unknown setting", map[string]any{"shell": "true", "comand": []any{"x"}}, "unknown setting comand"},
		{"env name", map[string]any{"shell": "true", "env": map[string]any{"MY-VAR": "x"}}, `env: "MY-VAR" is not a valid variable name`},
		{"env name with a digit first", map[string]any{"shell": "true", "env": map[string]any{"1X": "x"}}, `env: "1X" is not a valid variable name`},
		{"env SHIPGATE_", map[string]any{"shell": "true", "env": map[string]any{"SHIPGATE_TAG": "x"}}, "env: SHIPGATE_TAG: names starting with SHIPGATE_ are set by shipgate"},
		{"env template", map[string]any{"shell": "true", "env": map[string]any{"URL": "{{.DeploymentURL"}}, "env URL:"},
		{"timeout zero", map[string]any{"shell": "true", "timeout": "0s"}, "timeout must be positive"},
		{"timeout negative", map[string]any{"shell": "true", "timeout": "-1m"}, "timeout must be positive"},
		{"timeout not a duration", map[string]any{"shell": "true", "timeout": "soon"}, `value "soon" is not a valid time.Duration`},
		{"kill_grace zero", map[string]any{"shell": "true", "kill_grace": "0s"}, "kill_grace must be positive"},
		{"max_output zero", map[string]any{"shell": "true", "max_output": 0}, "max_output must be between 1 and 16777216 bytes, got 0"},
		{"max_output too large", map[string]any{"shell": "true", "max_output": 1 << 30}, "max_output must be between"},
		{"tail_lines negative", map[string]any{"shell": "true", "tail_lines": -1}, "tail_lines must be between 0 and 200, got -1"},
		{"sli_file absolute", map[string]any{"shell": "true", "sli_file": "/tmp/sli.json"}, "sli_file must be a file path inside the working directory"},
		{"sli_file outside", map[string]any{"shell": "true", "sli_file": "../sli.json"}, "sli_file must be a file path inside the working directory"},
		{"sli_file a directory", map[string]any{"shell": "true", "sli_file": "out/"}, "sli_file must be a file path inside the working directory"},
		{"files not a bool", map[string]any{"shell": "true", "files": "maybe"}, `value "maybe" is not a valid bool`},
		{"every problem at once", map[string]any{"timeout": "0s", "tail_lines": -1}, "command or shell is required: command: [\"k6\", \"run\", \"load.js\"] runs a program, shell: \"k6 run load.js | tee out.txt\" a /bin/sh command line; timeout must be positive, such as 5m; leave it out to use only the task's timeout; tail_lines must be between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := (&Executor{}).CheckConfig("test", tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckConfig: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("CheckConfig accepted the settings, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := parseSettings(map[string]any{"shell": "k6 run load.js"})
	if err != nil {
		t.Fatal(err)
	}
	if s.killGrace != 5*time.Second || s.maxOutput != 1<<20 || s.tailLines != 10 || !s.files || s.timeout != 0 || s.sliFile != "" {
		t.Errorf("defaults %+v", s)
	}
	if got := strings.Join(s.argv, " "); got != "/bin/sh -c k6 run load.js" {
		t.Errorf("argv %q", got)
	}
}
