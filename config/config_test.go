package config

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	cfg, diags := Parse(filepath.Join("etc", "shipgate.yaml"), nil, env(nil))
	checkDiags(t, diags)
	want := Defaults()
	if cfg.Engine.TaskTimeout != time.Hour || cfg.Engine.KeepWaitingApprovals {
		t.Errorf("engine defaults = %+v", cfg.Engine)
	}
	if cfg.Listen != want.Listen || cfg.Log.Level != want.Log.Level || cfg.Log.Format != want.Log.Format || cfg.ShutdownTimeout != 10*time.Second {
		t.Errorf("empty file gave %+v, want the defaults", cfg)
	}
	// Relative paths are anchored at the config file's folder, not the working directory.
	if cfg.Database != filepath.Join("etc", "shipgate.db") || cfg.ProjectsDir != filepath.Join("etc", "projects") {
		t.Errorf("database %q, projects_dir %q; want them under etc/", cfg.Database, cfg.ProjectsDir)
	}
}

func TestConfigFull(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bot-token"), []byte("xoxb-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `listen: ${HOST:-0.0.0.0}:${PORT}
public_url: https://shipgate.example.org
database: /var/lib/shipgate/shipgate.db
projects_dir: projects
shutdown_timeout: 30s
engine: {task_timeout: 2h, keep_waiting_approvals: true}
evaluation: {require_slo: true}
log: {level: debug, format: json}
slack:
  bot_token_file: bot-token
  signing_secret: ${SLACK_SIGNING_SECRET}
discord:
  application_id: "1234"
  public_key: ` + strings.Repeat("ab", 32) + `
  bot_token: ${DISCORD_TOKEN}
channels:
  - platform: slack
    channel: C012345
    projects: [fulltour]
    roles:
      deployer: [U1, S2]
      approver: [U3]
prometheus:
  url: http://127.0.0.1:9090
  timeout: 5s
api:
  tokens:
    - name: ci
      token_sha256: ` + strings.Repeat("0f", 32) + `
      projects: ["*"]
      actor: U3
  webhook_secret: literal-$${NOT_EXPANDED}
`
	path := filepath.Join(dir, "shipgate.yaml")
	cfg, diags := Parse(path, []byte(doc), env(map[string]string{"PORT": "9000", "SLACK_SIGNING_SECRET": "s3cr3t", "DISCORD_TOKEN": "dt"}))
	checkDiags(t, diags)
	if cfg.Listen != "0.0.0.0:9000" {
		t.Errorf("listen = %q", cfg.Listen)
	}
	if bot, signing := platformSecret(cfg, "slack", "BotToken"), platformSecret(cfg, "slack", "SigningSecret"); bot.Reveal() != "xoxb-from-file" || signing.Reveal() != "s3cr3t" {
		t.Errorf("slack secrets = %q, %q", bot.Reveal(), signing.Reveal())
	}
	if cfg.API.Tokens[0].Actor != "U3" {
		t.Errorf("api.tokens[0].actor = %q", cfg.API.Tokens[0].Actor)
	}
	if cfg.API.WebhookSecret.Reveal() != "literal-${NOT_EXPANDED}" {
		t.Errorf("$${ escape gave %q", cfg.API.WebhookSecret.Reveal())
	}
	if cfg.Database != "/var/lib/shipgate/shipgate.db" || cfg.ProjectsDir != filepath.Join(dir, "projects") {
		t.Errorf("database %q, projects_dir %q", cfg.Database, cfg.ProjectsDir)
	}
	if got := cfg.Channels[0].Roles["deployer"]; len(got) != 2 || got[1] != "S2" {
		t.Errorf("deployer role = %v", got)
	}
	if cfg.Engine.TaskTimeout != 2*time.Hour || !cfg.Engine.KeepWaitingApprovals || !cfg.Evaluation.RequireSLO {
		t.Errorf("engine = %+v", cfg.Engine)
	}
	if cfg.Prometheus.Timeout != 5*time.Second || cfg.ShutdownTimeout != 30*time.Second {
		t.Errorf("durations = %v, %v", cfg.Prometheus.Timeout, cfg.ShutdownTimeout)
	}
}

func TestEnvExpansionTypes(t *testing.T) {
	doc := "shutdown_timeout: ${GRACE}\napi:\n  tokens:\n    - name: ${NAME}\n      token: '${TOKEN}'\n      projects: ['*']\n"
	cfg, diags := Parse("shipgate.yaml", []byte(doc), env(map[string]string{"GRACE": "1m", "NAME": "a: b", "TOKEN": "123"}))
	checkDiags(t, diags)
	// A variable holding YAML syntax stays one value, and a quoted number stays a string.
	if cfg.API.Tokens[0].Name != "a: b" || cfg.API.Tokens[0].Token.Reveal() != "123" || cfg.ShutdownTimeout != time.Minute {
		t.Errorf("got name %q token %q grace %v", cfg.API.Tokens[0].Name, cfg.API.Tokens[0].Token.Reveal(), cfg.ShutdownTimeout)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		doc  string
		env  map[string]string
		want []want
	}{
		{"unknown key is an error", "listen: :8080\nlisten_addr: :9090\n", nil,
			[]want{errAt(2, `unknown key "listen_addr" at the top level; expected one of: listen, public_url, database, projects_dir, shutdown_timeout, engine, evaluation, log, channels, freezes, prometheus, helm, api, http, discord, slack, web`)}},
		{"engine", "engine:\n  task_timeout: 0s\n", nil, []want{errAt(2, "engine.task_timeout must be positive")}},
		{"nested unknown key", "log:\n  level: info\n  colour: true\n", nil, []want{errAt(3, `unknown key "colour" in log; expected one of: level, format`)}},
		{"unset variable", "listen: ${ADDR}\n", nil, []want{errAt(1, "environment variable ADDR is not set")}},
		{"bad reference", "listen: ${1ADDR}\n", nil, []want{errAt(1, "${1ADDR} is not a valid environment variable reference")}},
		{"unterminated reference", "listen: ${ADDR\n", nil, []want{errAt(1, "unterminated ${")}},
		{"bad values", "listen: localhost\nlog:\n  level: verbose\n  format: xml\nshutdown_timeout: 10\npublic_url: ftp://x\n", nil, []want{
			errAt(1, `listen "localhost" is not an address`),
			errAt(3, `log.level "verbose" is not one of debug, info, warn, error`),
			errAt(4, `log.format "xml" is not one of text, json`),
			errAt(5, `shutdown_timeout: expected a duration such as 30s, 5m or 1h, got "10"`),
			errAt(6, `public_url "ftp://x" is not an http(s) URL`),
		}},
		{"credentials in a URL", "prometheus:\n  url: https://user:pa55@prom.example.org\n", nil, []want{
			errAt(2, `prometheus.url "https://user:xxxxx@prom.example.org" contains credentials`),
		}},
		{"bad url", "public_url: ftp://x\n", nil, []want{errAt(1, `public_url "ftp://x" is not an http(s) URL`)}},
		{"fractional number", "api:\n  tokens:\n    - {name: ci, token: x, projects: [a]}\nchannels: 1.5\n", nil, []want{errAt(4, "channels: expected a list")}},
		{"secret and file", "slack:\n  bot_token: a\n  bot_token_file: /dev/null\n  signing_secret: b\n", nil, []want{errAt(3, "slack.bot_token: set either bot_token or bot_token_file, not both")}},
		{"missing secret file", "slack:\n  bot_token_file: missing-token\n  signing_secret: b\n", nil, []want{
			errAt(2, "slack.bot_token_file: cannot read missing-token: no such file or directory"),
			errAt(2, "slack.bot_token (or bot_token_file) is required"),
		}},
		{"incomplete integrations", "slack: {bot_token: x}\ndiscord: {public_key: abc}\nprometheus: {timeout: 1s}\n", nil, []want{
			errAt(1, "slack.mode http needs signing_secret (or signing_secret_file)"),
			errAt(2, "discord.application_id is required"),
			errAt(2, "discord.public_key must be the application's public key"),
			errAt(2, "discord.bot_token (or bot_token_file) is required"),
			errAt(3, "prometheus.url is required"),
		}},
		{"slack modes", "slack:\n  bot_token: x\n  signing_secret: y\n  mode: socket\n  api_url: http://127.0.0.1:1/api\n  group_cache_ttl: 0s\n", nil, []want{
			errAt(4, "slack.mode socket needs app_token (or app_token_file)"),
			errAt(5, "slack.api_url must end with a slash"),
			errAt(6, "slack.group_cache_ttl must be positive"),
		}},
		{"slack mode unknown", "slack:\n  bot_token: x\n  signing_secret: y\n  mode: rtm\n", nil, []want{errAt(4, `slack.mode "rtm" is not one of http, socket`)}},
		{"prometheus timeout zero", "prometheus:\n  url: http://prom:9090\n  timeout: 0s\n", nil, []want{
			errAt(3, "prometheus.timeout must be positive; leave it out for the default of 30s"),
		}},
		{"prometheus auth", `prometheus:
  url: http://prom:9090
  bearer_token: t
  basic_auth:
    password_file: missing-password
`, nil, []want{
			errAt(5, "prometheus.basic_auth.password_file: cannot read missing-password: no such file or directory"),
			errAt(5, "prometheus.basic_auth.username is required"),
			errAt(5, "prometheus.basic_auth.password (or password_file) is required"),
			errAt(4, "prometheus: set either bearer_token or basic_auth, not both"),
		}},
		{"prometheus tls", `prometheus:
  url: http://prom:9090
  tls:
    ca_file: missing-ca.pem
    insecure_skip_verify: true
`, nil, []want{
			warnAt(3, "prometheus.tls has no effect: prometheus.url is http://, not https://"),
			errAt(4, "prometheus.tls.ca_file: cannot read "+filepath.Join(dir, "missing-ca.pem")+": no such file or directory"),
			warnAt(5, "prometheus.tls.insecure_skip_verify accepts any certificate"),
		}},
		{"prometheus ca file without certificates", "prometheus:\n  url: https://prom:9090\n  tls: {ca_file: " + filepath.Join(dir, "not-a-ca.pem") + "}\n", nil, []want{
			errAt(3, "prometheus.tls.ca_file: "+filepath.Join(dir, "not-a-ca.pem")+" holds no PEM certificate"),
		}},
		{"channels", `channels:
  - platform: teams
    channel: C1
    projects: [p]
  - platform: discord
    channel: D1
    projects: [p]
  - platform: teams
    channel: C1
    roles:
      Release-Managers: []
`, nil, []want{
			errAt(2, `channels[0]: platform "teams" is not one of discord, slack, web`),
			errAt(5, "channels[1]: platform discord is not configured"),
			errAt(8, `channels[2]: platform "teams" is not one of discord, slack, web`),
			errAt(9, "channels[2]: teams channel C1 is already bound at line 3"),
			errAt(8, "channels[2]: projects is empty"),
			errAt(11, `role name "Release-Managers" must start with a lowercase letter`),
			warnAt(11, `role "Release-Managers" has no members`),
		}},
		{"thread detail", `slack: {bot_token: x, signing_secret: y}
channels:
  - platform: slack
    channel: C1
    projects: [p]
    thread_detail: Tasks
  - {platform: slack, channel: C2, projects: [p], thread_detail: all}
  - platform: slack
    channel: C3
    projects: [p]
    thread_detail: ""
`, nil, []want{
			errAt(6, `channels[0].thread_detail must be one of tasks, results, stages, not "Tasks"`),
			errAt(7, `channels[1].thread_detail must be one of tasks, results, stages, not "all"`),
			errAt(11, `channels[2].thread_detail must be one of tasks, results, stages, not ""`),
		}},
		{"tokens", `api:
  tokens:
    - name: ci
      token: a
      token_sha256: ABC
      projects: [p]
    - name: ci
    - token: b
      projects: [p]
`, nil, []want{
			errAt(5, "token_sha256 must be 64 lowercase hexadecimal characters"),
			errAt(3, "api.tokens[0]: set exactly one of token, token_file or token_sha256"),
			errAt(7, `token name "ci" is already used at line 3`),
			errAt(7, "api.tokens[1]: set exactly one of token"),
			errAt(7, "api.tokens[1]: projects is empty"),
			errAt(8, "api.tokens[2]: name is required"),
		}},
		{"token actors", `api:
  tokens:
    - {name: release, token: a, projects: [p], actor: U0123ABC}
    - {name: discord, token: b, projects: [p], actor: "80351110224678912"}
    - {name: mention, token: c, projects: [p], actor: "<@U1>"}
    - {name: empty, token: d, projects: [p], actor: ""}
`, nil, []want{
			errAt(5, `api.tokens[2]: actor "<@U1>" is not a chat user id; expected one such as U0123ABC`),
			errAt(6, `api.tokens[3]: actor "" is not a chat user id`),
		}},
	}
	if err := os.WriteFile(filepath.Join(dir, "not-a-ca.pem"), []byte("just text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse(filepath.Join(dir, "shipgate.yaml"), []byte(tt.doc), env(tt.env))
			checkDiags(t, diags, tt.want...)
		})
	}
}

// thread_detail is set per binding: absent it is results, and `validate --print` shows that; each level
// is taken as written.
func TestThreadDetail(t *testing.T) {
	doc := `slack: {bot_token: x, signing_secret: y}
channels:
  - platform: slack
    channel: C1
    projects: [p]
  - platform: slack
    channel: C2
    projects: [p]
    thread_detail: tasks
  - {platform: slack, channel: C3, projects: [p], thread_detail: results}
  - {platform: slack, channel: C4, projects: [p], thread_detail: stages}
`
	cfg, diags := Parse("shipgate.yaml", []byte(doc), env(nil))
	checkDiags(t, diags)
	want := []ThreadDetail{ThreadResults, ThreadTasks, ThreadResults, ThreadStages}
	for i, ch := range cfg.Channels {
		if ch.ThreadDetail != want[i] || ch.EffectiveThreadDetail() != want[i] {
			t.Errorf("channels[%d] (%s): thread_detail %q, effective %q; want %q", i, ch.Channel, ch.ThreadDetail, ch.EffectiveThreadDetail(), want[i])
		}
	}
	printed, err := yaml.Marshal(cfg.Channels[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(printed), "thread_detail: results\n") {
		t.Errorf("a binding without thread_detail prints as\n%s\nwant the effective thread_detail: results", printed)
	}
	// A binding built in code, as the demo's is, leaves it empty and gets the default too.
	if got := (&ChannelBinding{Platform: "web", Channel: "demo"}).EffectiveThreadDetail(); got != DefaultThreadDetail || DefaultThreadDetail != ThreadResults {
		t.Errorf("an empty thread_detail means %q, default %q; want results", got, DefaultThreadDetail)
	}

	// The error names the file and the line of the value.
	bad := strings.Replace(doc, "thread_detail: stages", "thread_detail: Stages", 1)
	_, diags = Parse("shipgate.yaml", []byte(bad), env(nil))
	if err, want := diags.Err(), `shipgate.yaml:11: channels[3].thread_detail must be one of tasks, results, stages, not "Stages"`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func TestPrometheusConfig(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prom-password"), []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `prometheus:
  url: https://prom.example.org
  basic_auth:
    username: shipgate
    password_file: prom-password
  tls:
    ca_file: ca.pem
`
	cfg, diags := Parse(filepath.Join(dir, "shipgate.yaml"), []byte(doc), env(nil))
	checkDiags(t, diags)
	p := cfg.Prometheus
	if p.Timeout != DefaultPrometheusTimeout {
		t.Errorf("timeout = %v, want the default %v when absent", p.Timeout, DefaultPrometheusTimeout)
	}
	if p.BasicAuth.Username != "shipgate" || p.BasicAuth.Password.Reveal() != "hunter2" {
		t.Errorf("basic_auth = %q / %q", p.BasicAuth.Username, p.BasicAuth.Password.Reveal())
	}
	if y, err := yaml.Marshal(p); err != nil || strings.Contains(string(y)+fmt.Sprintf("%+v", *p.BasicAuth), "hunter2") {
		t.Errorf("basic_auth password printed (err %v):\n%s", err, y)
	}
	if want := filepath.Join(dir, "ca.pem"); p.TLS.CAFile != want {
		t.Errorf("ca_file = %q, want %q (relative to the config file)", p.TLS.CAFile, want)
	}
	// No prometheus section means no provider, not one with defaults.
	if cfg, _ := Parse("shipgate.yaml", nil, env(nil)); cfg.Prometheus != nil {
		t.Errorf("prometheus = %+v without a prometheus section", cfg.Prometheus)
	}
}

func TestLoadErrorNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shipgate.yaml")
	if err := os.WriteFile(path, []byte("listen: :8080\nlog:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := Load(path, env(nil))
	err := diags.Err()
	var le *LoadError
	if !errors.As(err, &le) || len(le.Diagnostics) != 1 {
		t.Fatalf("Err() = %v, want one LoadError diagnostic", err)
	}
	if want := path + `:3: log.level "loud" is not one of debug, info, warn, error`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if _, diags := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil); !strings.Contains(diags.Err().Error(), "nope.yaml: cannot read config: no such file or directory") {
		t.Errorf("missing file: %v", diags.Err())
	}
}

// TestSecretsNeverPrint checks every way a secret could leave the process by accident: formatting, YAML
// and JSON marshalling, and error messages about the settings that hold them.
func TestSecretsNeverPrint(t *testing.T) {
	const token = "xoxb-very-secret-token"
	doc := "slack:\n  bot_token: ${TOKEN}\n  signing_secret: ${TOKEN}\nprometheus:\n  url: https://prom.example.org\n  bearer_token: ${TOKEN}\napi:\n  tokens:\n    - {name: ci, token: '${TOKEN}', projects: ['*']}\n"
	cfg, diags := Parse("shipgate.yaml", []byte(doc), env(map[string]string{"TOKEN": token}))
	checkDiags(t, diags)
	var out strings.Builder
	s := platformSecret(cfg, "slack", "BotToken")
	fmt.Fprintf(&out, "%v %s %q %x %+v %#v %v %+v", s, s, s, s, cfg.Platforms["slack"], cfg.Platforms["slack"], *cfg.Prometheus, cfg.API)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(y)
	out.Write(j)
	if strings.Contains(out.String(), token) {
		t.Fatalf("secret leaked:\n%s", out.String())
	}
	if !strings.Contains(string(y), "bot_token: <secret>") {
		t.Errorf("marshalled config does not show <secret>:\n%s", y)
	}
	if s.Reveal() != token || cfg.API.Tokens[0].Token.Reveal() != token {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	// A setting next to a secret that is invalid must not quote the secret either.
	_, diags = Parse("shipgate.yaml", []byte("slack:\n  bot_token: ${TOKEN}\n  bot_token_file: /nonexistent\n"), env(map[string]string{"TOKEN": token}))
	for _, d := range diags {
		if strings.Contains(d.String(), token) {
			t.Errorf("diagnostic leaks the secret: %s", d)
		}
	}
	if len(diags) == 0 {
		t.Error("bot_token together with bot_token_file was accepted")
	}
}

func FuzzConfig(f *testing.F) {
	for _, path := range []string{"../examples/shipgate.yaml", "testdata/shipgate-full.yaml"} {
		seed, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed)
	}
	f.Add([]byte("listen: ${X:-:8080}\nlog: {level: debug}\n"))
	f.Add([]byte("channels: [{platform: slack, channel: C1, projects: [a], roles: {deployer: [U1]}}]\n"))
	lookup := env(map[string]string{"X": "127.0.0.1:1"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, diags := Parse("shipgate.yaml", data, lookup)
		if cfg == nil {
			t.Fatal("Parse returned no config")
		}
		if !diags.HasErrors() && cfg.Listen == "" {
			t.Fatal("accepted a config without a listen address")
		}
	})
}

// platformSecret reads a Secret field of a platform's section, whose type its adapter defines.
func platformSecret(cfg *Config, platform, field string) Secret {
	return reflect.ValueOf(cfg.Platforms[platform]).Elem().FieldByName(field).Interface().(Secret)
}
