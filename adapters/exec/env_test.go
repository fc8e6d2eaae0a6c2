package exec

import (
	"slices"
	"testing"
	"time"
)

func TestLabelVar(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, want string }{
		{"team", "SHIPGATE_LABEL_TEAM"},
		{"app.kubernetes.io/name", "SHIPGATE_LABEL_APP_KUBERNETES_IO_NAME"},
		{"build-id", "SHIPGATE_LABEL_BUILD_ID"},
		{"Git_SHA1", "SHIPGATE_LABEL_GIT_SHA1"},
		{"a b=c", "SHIPGATE_LABEL_A_B_C"},
		{"größe", "SHIPGATE_LABEL_GR__E"},
		{"", "SHIPGATE_LABEL_"},
	}
	for _, tt := range tests {
		if got := labelVar(tt.key); got != tt.want {
			t.Errorf("labelVar(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// When two labels map to one variable, the same one wins every time: the last in key order.
func TestLabelCollision(t *testing.T) {
	t.Parallel()
	task := newTask(nil)
	task.Labels = map[string]string{"app-name": "dash", "app.name": "dot", "app_name": "underscore"}
	env := taskEnv(task, time.Unix(0, 0), "/tmp/sli.json")
	if got := getenv(env, "SHIPGATE_LABEL_APP_NAME"); got != "underscore" {
		t.Errorf("SHIPGATE_LABEL_APP_NAME=%q, want the value of app_name", got)
	}
	if slices.Contains(env, "SHIPGATE_DEPLOYMENT_URL=") {
		t.Error("SHIPGATE_DEPLOYMENT_URL is set without a deployment URL")
	}
}

func TestBaseEnv(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	t.Setenv("HOME", "/home/shipgate")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("TMPDIR", "/var/tmp")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-secret")
	want := []string{"PATH=/usr/bin", "HOME=/home/shipgate", "LANG=C.UTF-8", "TMPDIR=/var/tmp"}
	if got := (&Executor{}).baseEnv(); !slices.Equal(got, want) {
		t.Errorf("baseEnv() = %q, want %q", got, want)
	}
	if got := (&Executor{Env: []string{}}).baseEnv(); len(got) != 0 {
		t.Errorf("baseEnv() with an empty Env = %q, want nothing", got)
	}
}
