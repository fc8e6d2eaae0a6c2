package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is shipgate.yaml: how the bot listens, where it keeps its state, and how it reaches chat,
// Prometheus and CI. Every key is optional; Defaults documents what an absent key means.
type Config struct {
	Pos  `yaml:"-"`
	File string `yaml:"-"` // the file it was loaded from; "" for the built-in defaults

	// Listen is the address of the one HTTP listener (chat endpoints, API, metrics, health).
	Listen string `yaml:"listen"`
	// PublicURL is how people and chat platforms reach shipgate; links in messages start with it.
	PublicURL string `yaml:"public_url,omitempty"`
	// Database is the SQLite file. A relative path is relative to the config file's folder.
	Database string `yaml:"database"`
	// ProjectsDir holds one Keptn project directory per project. Relative like Database.
	ProjectsDir string `yaml:"projects_dir"`
	// ShutdownTimeout bounds how long in-flight requests may finish after SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	Engine     EngineConfig     `yaml:"engine"`
	Evaluation EvaluationConfig `yaml:"evaluation"`
	Log        LogConfig        `yaml:"log"`
	// Platforms are the configured chat platforms' sections (slack:, discord:, web:), each decoded into
	// and checked by its adapter's type (RegisterPlatform); Platform reads one.
	Platforms map[string]PlatformConfig `yaml:"-"`
	Channels  []ChannelBinding          `yaml:"channels,omitempty"`
	// Freezes are the windows in which deliveries wait instead of starting in the stages they cover.
	Freezes    Freezes           `yaml:"freezes,omitempty"`
	Prometheus *PrometheusConfig `yaml:"prometheus,omitempty"`
	Helm       HelmConfig        `yaml:"helm"`
	API        APIConfig         `yaml:"api"`
	// HTTP bounds the listener's connections: timeouts, header size, unverified bodies read at once.
	HTTP HTTPConfig `yaml:"http"`
}

// HelmConfig is how the helm executor reaches the cluster when executors.yaml does not say. With neither
// set, it loads kubeconfig as kubectl does ($KUBECONFIG, ~/.kube/config), and inside a pod it uses the
// pod's service account.
type HelmConfig struct {
	Pos `yaml:"-"`
	// Kubeconfig is a kubeconfig file; relative to the config file's folder.
	Kubeconfig string `yaml:"kubeconfig,omitempty"`
	// Context is the kubeconfig context; "" is its current context.
	Context string `yaml:"context,omitempty"`
	// CacheDir holds downloaded charts and repository indexes; "" is a folder under the system's
	// temporary directory.
	CacheDir string `yaml:"cache_dir,omitempty"`
}

// EngineConfig tunes how deliveries run.
type EngineConfig struct {
	Pos `yaml:"-"`
	// TaskTimeout bounds a task that has no timeout of its own (task property or executors.yaml).
	TaskTimeout time.Duration `yaml:"task_timeout"`
	// KeepWaitingApprovals keeps an older delivery waiting for approval when a newer one of the same
	// service reaches the same stage; by default the older one is superseded.
	KeepWaitingApprovals bool `yaml:"keep_waiting_approvals"`
}

// EvaluationConfig tunes quality gates.
type EvaluationConfig struct {
	Pos `yaml:"-"`
	// RequireSLO fails an evaluation for which the service has no slo.yaml. Keptn passed it with
	// score 0 (#2277, #1212), which is the default.
	RequireSLO bool `yaml:"require_slo"`
}

// LogConfig sets the log output.
type LogConfig struct {
	Pos    `yaml:"-"`
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// ChannelBinding ties a chat channel to the projects whose deliveries it shows, and says who holds which
// role there.
type ChannelBinding struct {
	Pos      `yaml:"-"`
	Platform string   `yaml:"platform"` // a registered platform: slack, discord or web
	Channel  string   `yaml:"channel"`  // the platform's channel id
	Projects []string `yaml:"projects"`
	// Roles maps a role name (deployer, approver, or one a stage's approval task names) to members:
	// user ids, Slack user-group ids, or Discord role ids.
	Roles map[string][]string `yaml:"roles,omitempty"`
	// ThreadDetail is how much of a delivery the thread under its root card shows here; Parse fills in
	// DefaultThreadDetail when the key is absent, and a binding built in code may leave it empty for the
	// same (EffectiveThreadDetail).
	ThreadDetail ThreadDetail `yaml:"thread_detail,omitempty"`
}

// ThreadDetail is how many replies a channel's delivery threads get. Whatever the level, the root card
// shows every stage's state, and approval requests, pauses, resumes, aborts and sequence ends are posted.
type ThreadDetail string

// Thread detail levels, from the most replies to the fewest.
const (
	// ThreadTasks posts each task's start and finish.
	ThreadTasks ThreadDetail = "tasks"
	// ThreadResults posts each task's finish (an evaluation's with its score table), not its start.
	ThreadResults ThreadDetail = "results"
	// ThreadStages posts only the finishes a release manager has to look at: a task or evaluation that
	// did not pass cleanly (warning, fail, errored, timed out).
	ThreadStages ThreadDetail = "stages"
)

// DefaultThreadDetail is a binding's thread_detail when absent. A task's start line says nothing the root
// card (⏳) does not; leaving them out saves a post per task (6 of a tutorial delivery's 16), which keeps
// a busy channel's threads readable and chat.postMessage's limit (about one a second per channel) far away.
const DefaultThreadDetail = ThreadResults

func (d ThreadDetail) valid() bool {
	switch d {
	case ThreadTasks, ThreadResults, ThreadStages:
		return true
	}
	return false
}

// EffectiveThreadDetail is the binding's thread_detail, or DefaultThreadDetail when it is empty.
func (ch *ChannelBinding) EffectiveThreadDetail() ThreadDetail {
	if ch.ThreadDetail == "" {
		return DefaultThreadDetail
	}
	return ch.ThreadDetail
}

// PrometheusConfig is the default SLI provider.
type PrometheusConfig struct {
	Pos `yaml:"-"`
	URL string `yaml:"url"`
	// Timeout bounds each query; absent means DefaultPrometheusTimeout.
	Timeout         time.Duration `yaml:"timeout,omitempty"`
	BearerToken     Secret        `yaml:"bearer_token,omitempty"`
	BearerTokenFile string        `yaml:"bearer_token_file,omitempty"`
	// BasicAuth and BearerToken both set the Authorization header, so at most one of them may be set.
	BasicAuth *PrometheusBasicAuth `yaml:"basic_auth,omitempty"`
	TLS       *PrometheusTLS       `yaml:"tls,omitempty"`
}

// DefaultPrometheusTimeout bounds one SLI query when prometheus.timeout is absent. Prometheus gives up on
// a query after 2 minutes by default; an evaluation should not wait that long for one value, and a query
// over a few hours of data answers well within 30 seconds on a healthy server.
const DefaultPrometheusTimeout = 30 * time.Second

// PrometheusBasicAuth is HTTP basic authentication, as a reverse proxy in front of Prometheus asks for.
type PrometheusBasicAuth struct {
	Pos          `yaml:"-"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
}

// PrometheusTLS says how to trust an https:// Prometheus.
type PrometheusTLS struct {
	Pos `yaml:"-"`
	// CAFile is a PEM bundle of the certificate authorities to trust instead of the system's. Relative to
	// the config file's folder.
	CAFile string `yaml:"ca_file,omitempty"`
	// InsecureSkipVerify accepts any certificate; for test setups only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify,omitempty"`
}

// APIConfig authenticates CI systems calling the delivery API.
type APIConfig struct {
	Pos    `yaml:"-"`
	Tokens []APIToken `yaml:"tokens,omitempty"`
	// WebhookSecret verifies X-Shipgate-Signature-256 HMAC signatures of request bodies.
	WebhookSecret     Secret `yaml:"webhook_secret,omitempty"`
	WebhookSecretFile string `yaml:"webhook_secret_file,omitempty"`
}

// APIToken is one bearer token: its value (token or token_file) or only its SHA-256 (token_sha256), the
// projects it may trigger and act on ("*" for all), and the person it decides approvals as, if any.
type APIToken struct {
	Pos         `yaml:"-"`
	Name        string   `yaml:"name"`
	Token       Secret   `yaml:"token"`
	TokenFile   string   `yaml:"token_file,omitempty"`
	TokenSHA256 string   `yaml:"token_sha256,omitempty"`
	Projects    []string `yaml:"projects"`
	// Actor is the chat user id (such as U0123ABC) the token approves and rejects as: the roles that
	// user holds in the channels bound to a project decide whether the vote counts. Without it the token
	// cannot vote.
	Actor string `yaml:"actor,omitempty"`
}

// Defaults returns the configuration used when a key is absent, and when no file is given at all.
func Defaults() *Config {
	return &Config{
		Listen:          "127.0.0.1:8080",
		Database:        "shipgate.db",
		ProjectsDir:     "projects",
		ShutdownTimeout: 10 * time.Second,
		Engine:          EngineConfig{TaskTimeout: time.Hour},
		Log:             LogConfig{Level: "info", Format: "text"},
		HTTP:            DefaultHTTP(),
	}
}

// Load reads shipgate.yaml, expands ${ENV} references with lookup (os.LookupEnv when nil), fills in
// defaults, reads *_file secrets, and validates. Relative paths are made relative to the file's folder.
// The config is returned with its diagnostics; it is usable only when they hold no errors.
func Load(path string, lookup func(string) (string, bool)) (*Config, Diagnostics) {
	return readFile(path, "config", func(file string, data []byte) (*Config, Diagnostics) {
		return Parse(file, data, lookup)
	})
}

// Parse is Load for content already read; file names it in diagnostics and anchors relative paths.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Config, Diagnostics) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var diags Diagnostics
	d := diagnoser{file: file, diags: &diags}
	cfg := Defaults()
	cfg.File = file
	base := filepath.Dir(file)
	if root := parseYAML(d, data); root != nil {
		expandEnv(d, root, lookup)
		decodePlatforms(d, root, cfg, base)
		decodeYAML(d, root, cfg, SeverityError)
	}
	// Validation goes on after decoding errors so that one run reports everything; a value that failed to
	// decode keeps its default and draws no second complaint.
	cfg.Database = resolvePath(base, cfg.Database)
	cfg.ProjectsDir = resolvePath(base, cfg.ProjectsDir)
	cfg.Prometheus.resolve(base)
	cfg.Helm.Kubeconfig = resolvePath(base, cfg.Helm.Kubeconfig)
	cfg.Helm.CacheDir = resolvePath(base, cfg.Helm.CacheDir)
	for i := range cfg.Channels {
		cfg.Channels[i].resolve()
	}
	resolveSecretFiles(d, base, reflect.ValueOf(cfg), "")
	cfg.validate(d)
	diags.Sort()
	return cfg, diags
}

// LoadProjects loads the projects under ProjectsDir and checks them as serving needs: every task that is
// not built in must have an executor (an error here, where validating a lone project only warns), and
// every project a channel binding or API token names must exist. A projects_dir that does not exist is an
// error only when the file names it; the default may be absent, and shipgate then serves no project.
func (c *Config) LoadProjects() ([]*Project, Diagnostics) {
	if _, err := os.Stat(c.ProjectsDir); err != nil {
		if _, named := c.Lines["projects_dir"]; !named && os.IsNotExist(err) {
			return nil, nil
		}
		return nil, Diagnostics{{File: c.File, Line: c.LineOf("projects_dir"), Severity: SeverityError,
			Message: fmt.Sprintf("projects_dir %s: %v", c.ProjectsDir, unwrapPathError(err))}}
	}
	projects, diags := LoadProjects(c.ProjectsDir)
	known := map[string]bool{}
	for _, p := range projects {
		known[p.Name] = true
		diags = append(diags, p.CheckExecutors(SeverityError)...)
	}
	d := diagnoser{file: c.File, diags: &diags}
	for i, ch := range c.Channels {
		for j, name := range ch.Projects {
			if !known[name] {
				d.errorf(ch.LineOf(fmt.Sprintf("projects[%d]", j)), "channels[%d]: project %q is not in %s", i, name, c.ProjectsDir)
			}
		}
	}
	for i, t := range c.API.Tokens {
		for j, name := range t.Projects {
			if name != "*" && !known[name] {
				d.errorf(t.LineOf(fmt.Sprintf("projects[%d]", j)), "api.tokens[%d]: project %q is not in %s", i, name, c.ProjectsDir)
			}
		}
	}
	diags = append(diags, c.CheckApprovalRoles(projects)...)
	c.checkFreezeScopes(d, projects)
	return projects, diags
}

// CheckProjectsFound says, with severity sev, why projects_dir gave no project: that it is a Keptn project
// itself (its parent should be projects_dir), that the project folders are one level further down, that
// its folders hold no shipyard.yaml, that it is empty, or that the default folder does not exist. It says
// nothing when projects loaded, when projects_dir could not be read (LoadProjects reported that), or when
// a project folder failed to load (its errors say why). `validate --config` fails on it; serve, which
// may run before any project is mounted, warns.
func (c *Config) CheckProjectsFound(projects []*Project, sev Severity) Diagnostics {
	if len(projects) > 0 {
		return nil
	}
	var diags Diagnostics
	d := diagnoser{file: c.File, diags: &diags}
	line := c.LineOf("projects_dir")
	_, named := c.Lines["projects_dir"]
	dir := c.ProjectsDir
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		if !named && os.IsNotExist(err) {
			d.report(sev, line, "no project: projects_dir is not set, and its default %s does not exist; set projects_dir to the folder that holds one folder per Keptn project", dir)
		}
		return diags
	}
	if fileExists(filepath.Join(dir, ShipyardFile)) {
		d.report(sev, line, "projects_dir %s holds a %s: it is a Keptn project itself, and projects_dir should be its parent folder, %s", dir, ShipyardFile, filepath.Dir(filepath.Clean(dir)))
		return diags
	}
	folders := subdirs(dir)
	var deeper []string
	for _, f := range folders {
		if fileExists(filepath.Join(dir, f, ShipyardFile)) {
			return nil // a project that failed to load, and said why
		}
		for _, sub := range subdirs(filepath.Join(dir, f)) {
			if fileExists(filepath.Join(dir, f, sub, ShipyardFile)) {
				deeper = append(deeper, filepath.Join(dir, f))
				break
			}
		}
	}
	switch {
	case len(deeper) == 1:
		d.report(sev, line, "projects_dir %s holds no project, but its folder %s holds project folders: projects_dir should be %s", dir, filepath.Base(deeper[0]), deeper[0])
	case len(deeper) > 1:
		d.report(sev, line, "projects_dir %s holds no project, but its folders %s hold project folders: projects_dir should be one of them", dir, strings.Join(deeper, ", "))
	case len(folders) == 0:
		d.report(sev, line, "projects_dir %s holds no project: it has no folders; put one folder per Keptn project in it, each with its %s", dir, ShipyardFile)
	default:
		if len(folders) > 5 {
			folders = append(folders[:5], "…")
		}
		d.report(sev, line, "projects_dir %s holds no project: none of its folders (%s) has a %s at its top", dir, strings.Join(folders, ", "), ShipyardFile)
	}
	return diags
}

func resolvePath(base, p string) string {
	if p == "" || filepath.IsAbs(p) || p == ":memory:" {
		return p
	}
	return filepath.Join(base, p)
}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	sha256Hex  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// chatUserID is what Slack (U…, W…) and Discord (snowflakes) use for user ids; other characters,
	// spaces and mentions such as <@U1> or @ana would never match a voter.
	chatUserID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)
)

func (c *Config) validate(d diagnoser) {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		d.errorf(c.LineOf("listen"), "listen %q is not an address; expected HOST:PORT such as 127.0.0.1:8080 or :8080", c.Listen)
	}
	if c.PublicURL != "" {
		checkURL(d, c.LineOf("public_url"), "public_url", c.PublicURL)
	}
	if c.Database == "" {
		d.errorf(c.LineOf("database"), "database is empty; expected the path of the SQLite file")
	}
	if c.ShutdownTimeout <= 0 {
		d.errorf(c.LineOf("shutdown_timeout"), "shutdown_timeout must be positive")
	}
	if c.Engine.TaskTimeout <= 0 {
		d.errorf(c.Engine.LineOf("task_timeout"), "engine.task_timeout must be positive")
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		d.errorf(c.Log.LineOf("level"), "log.level %q is not one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		d.errorf(c.Log.LineOf("format"), "log.format %q is not one of %s", c.Log.Format, strings.Join(logFormats, ", "))
	}
	c.checkPlatforms(d)
	c.HTTP.validate(d)
	c.validateChannels(d)
	c.Prometheus.validate(d)
	c.validateTokens(d)
	c.validateFreezes(d)
}

// resolve fills in the default timeout and anchors the CA file at the config file's folder. A nil section
// (no Prometheus configured) stays nil.
func (p *PrometheusConfig) resolve(base string) {
	if p == nil {
		return
	}
	if _, set := p.Lines["timeout"]; !set {
		p.Timeout = DefaultPrometheusTimeout
	}
	if p.TLS != nil {
		p.TLS.CAFile = resolvePath(base, p.TLS.CAFile)
	}
}

func (p *PrometheusConfig) validate(d diagnoser) {
	if p == nil {
		return
	}
	if p.URL == "" {
		d.errorf(p.Line, "prometheus.url is required")
	} else {
		checkURL(d, p.LineOf("url"), "prometheus.url", p.URL)
	}
	if _, set := p.Lines["timeout"]; set && p.Timeout <= 0 {
		d.errorf(p.LineOf("timeout"), "prometheus.timeout must be positive; leave it out for the default of %s", DefaultPrometheusTimeout)
	}
	if a := p.BasicAuth; a != nil {
		if a.Username == "" {
			d.errorf(a.Line, "prometheus.basic_auth.username is required")
		}
		if !a.Password.IsSet() {
			d.errorf(a.Line, "prometheus.basic_auth.password (or password_file) is required")
		}
		if p.BearerToken.IsSet() {
			d.errorf(p.LineOf("basic_auth"), "prometheus: set either bearer_token or basic_auth, not both; both go in the Authorization header")
		}
	}
	if t := p.TLS; t != nil {
		if strings.HasPrefix(p.URL, "http://") {
			d.warnf(p.LineOf("tls"), "prometheus.tls has no effect: prometheus.url is http://, not https://")
		}
		if t.CAFile != "" {
			checkCAFile(d, t.LineOf("ca_file"), "prometheus.tls.ca_file", t.CAFile)
		}
		if t.InsecureSkipVerify {
			d.warnf(t.LineOf("insecure_skip_verify"), "prometheus.tls.insecure_skip_verify accepts any certificate, so anyone between shipgate and Prometheus can read its credentials and forge SLI values; use ca_file instead")
		}
	}
}

// checkCAFile reports a CA bundle that cannot be read or holds no certificate, which would otherwise only
// show when the first evaluation fails.
func checkCAFile(d diagnoser, line int, key, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		d.errorf(line, "%s: cannot read %s: %v", key, path, unwrapPathError(err))
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		d.errorf(line, "%s: %s holds no PEM certificate", key, path)
	}
}

// resolve fills in the default thread_detail, so that `validate --print` shows what applies. A key
// written empty stays empty, and validation says so.
func (ch *ChannelBinding) resolve() {
	if _, set := ch.Lines["thread_detail"]; !set {
		ch.ThreadDetail = DefaultThreadDetail
	}
}

func (c *Config) validateChannels(d diagnoser) {
	seen := map[string]int{}
	for i, ch := range c.Channels {
		where := fmt.Sprintf("channels[%d]", i)
		switch {
		case !slices.Contains(PlatformNames(), ch.Platform):
			d.errorf(ch.LineOf("platform"), "%s: platform %q is not one of %s", where, ch.Platform, strings.Join(PlatformNames(), ", "))
		case c.Platforms[ch.Platform] == nil:
			d.errorf(ch.LineOf("platform"), "%s: platform %s is not configured; add a %s section", where, ch.Platform, ch.Platform)
		}
		if ch.Channel == "" {
			d.errorf(ch.Line, "%s: channel is required (the platform's channel id)", where)
		}
		key := ch.Platform + "/" + ch.Channel
		if prev, dup := seen[key]; dup {
			d.errorf(ch.LineOf("channel"), "%s: %s channel %s is already bound at line %d; list all its projects in one binding", where, ch.Platform, ch.Channel, prev)
		} else {
			seen[key] = ch.LineOf("channel")
		}
		if len(ch.Projects) == 0 {
			d.errorf(ch.Line, "%s: projects is empty; name the projects whose deliveries this channel shows", where)
		}
		if !ch.ThreadDetail.valid() {
			d.errorf(ch.LineOf("thread_detail"), "%s.thread_detail must be one of %s, %s, %s, not %q", where, ThreadTasks, ThreadResults, ThreadStages, ch.ThreadDetail)
		}
		for role, members := range ch.Roles {
			if !namePattern.MatchString(role) {
				d.errorf(ch.LineOf("roles."+role), "%s: role name %q must start with a lowercase letter and contain only lowercase letters, digits and hyphens", where, role)
			}
			if len(members) == 0 {
				d.warnf(ch.LineOf("roles."+role), "%s: role %q has no members, so nobody can act with it", where, role)
			}
		}
	}
}

func (c *Config) validateTokens(d diagnoser) {
	seen := map[string]int{}
	for i, t := range c.API.Tokens {
		where := fmt.Sprintf("api.tokens[%d]", i)
		if t.Name == "" {
			d.errorf(t.Line, "%s: name is required; it identifies the caller in the audit trail", where)
		} else if prev, dup := seen[t.Name]; dup {
			d.errorf(t.LineOf("name"), "%s: token name %q is already used at line %d", where, t.Name, prev)
		} else {
			seen[t.Name] = t.LineOf("name")
		}
		set := 0
		if t.Token.IsSet() {
			set++
		}
		if t.TokenSHA256 != "" {
			set++
			if !sha256Hex.MatchString(t.TokenSHA256) {
				d.errorf(t.LineOf("token_sha256"), "%s: token_sha256 must be 64 lowercase hexadecimal characters (sha256sum of the token)", where)
			}
		}
		if set != 1 {
			d.errorf(t.Line, "%s: set exactly one of token, token_file or token_sha256", where)
		}
		if len(t.Projects) == 0 {
			d.errorf(t.Line, "%s: projects is empty; name the projects this token may trigger, or \"*\" for all", where)
		}
		if _, set := t.Lines["actor"]; set && !chatUserID.MatchString(t.Actor) {
			d.errorf(t.LineOf("actor"), "%s: actor %q is not a chat user id; expected one such as U0123ABC (Slack) or 80351110224678912 (Discord)", where, t.Actor)
		}
	}
}

func checkURL(d diagnoser, line int, key, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		d.errorf(line, "%s is not a URL: %v", key, err.(*url.Error).Err)
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorf(line, "%s %q is not an http(s) URL", key, u.Redacted())
	}
	if u.User != nil {
		// Credentials in a URL end up in logs and in `validate --print`; secrets have their own settings.
		d.errorf(line, "%s %q contains credentials; put them in a secret setting (such as bearer_token) instead", key, u.Redacted())
	}
}
