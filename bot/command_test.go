package bot

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	image512 := "ghcr.io/" + strings.Repeat("x", 504)
	tests := []struct {
		name string
		in   string
		want Command
	}{
		{"empty text", "", Command{Kind: CmdHelp}},
		{"only whitespace", " \t\n ", Command{Kind: CmdHelp}},
		{"help", "help", Command{Kind: CmdHelp}},
		{"help topic, any case", "HELP Rollback", Command{Kind: CmdHelp, Topic: CmdRollback}},
		{"help deliver", "help deliver", Command{Kind: CmdHelp, Topic: CmdDeliver}},
		{"help help", "help help", Command{Kind: CmdHelp, Topic: CmdHelp}},
		{"stats", "stats helloservice --stage production", Command{Kind: CmdStats, Service: "helloservice", Stage: "production"}},
		{"audit", "audit", Command{Kind: CmdAudit}},
		{"audit since days", "audit --since 30d", Command{Kind: CmdAudit, Since: 30 * 24 * time.Hour}},
		{"audit since a duration", "audit --since=90m", Command{Kind: CmdAudit, Since: 90 * time.Minute}},

		{"deliver", "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1",
			Command{Kind: CmdDeliver, Service: "helloservice", Image: "ghcr.io/podtato-head/podtatoserver:v0.1.1"}},
		{"deliver with every long flag", "helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1 --project fulltour --stage qa --label version=v0.1.1",
			Command{Kind: CmdDeliver, Service: "helloservice", Image: "ghcr.io/podtato-head/podtatoserver:v0.1.1", Project: "fulltour", Stage: "qa",
				Labels: map[string]string{"version": "v0.1.1"}}},
		{"flags with =, before and between arguments", "--project=fulltour svc --stage=qa img --label=a=1",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Project: "fulltour", Stage: "qa", Labels: map[string]string{"a": "1"}}},
		{"short flags", "svc img -p fulltour -s qa -l a=1 -l b=2",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Project: "fulltour", Stage: "qa", Labels: map[string]string{"a": "1", "b": "2"}}},
		{"short flags with =", "-p=fulltour -s=qa -l=a=1 svc img",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Project: "fulltour", Stage: "qa", Labels: map[string]string{"a": "1"}}},
		{"label value with = and empty value", "svc img -l a=b=c -l empty=",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"a": "b=c", "empty": ""}}},
		{"label key is trimmed", "svc img -l ' team '=platform",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"team": "platform"}}},
		{"label key characters", "svc img -l app.kubernetes.io/part-of_x=shop",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"app.kubernetes.io/part-of_x": "shop"}}},
		{"label key starting with a dash via =", "svc img --label=-k=v",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"-k": "v"}}},
		{"double quotes", `svc img --label "note=hello world"`,
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "hello world"}}},
		{"single quotes keep double quotes", `svc img --label 'note=say "hi"'`,
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": `say "hi"`}}},
		{"quotes join what touches them", `svc img --label note="a b"'c d'e`,
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "a bc de"}}},
		{"smart double quotes", "svc img --label “note=hello world”",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "hello world"}}},
		{"smart single quotes", "svc img --label ‘note=hello world’",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "hello world"}}},
		{"straight quote closed by a smart one", "svc img --label \"note=hello world”",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "hello world"}}},
		{"a quote of the other family is literal", `svc img --label "note=it’s"`,
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "it’s"}}},
		{"Slack link with label", "svc <http://ghcr.io/x/y:v1|ghcr.io/x/y:v1>",
			Command{Kind: CmdDeliver, Service: "svc", Image: "ghcr.io/x/y:v1"}},
		{"Slack link without label", "svc <https://ghcr.io/x/y:v1>",
			Command{Kind: CmdDeliver, Service: "svc", Image: "ghcr.io/x/y:v1"}},
		{"Slack link, scheme in capitals", "svc <HTTP://ghcr.io/x/y:v1>",
			Command{Kind: CmdDeliver, Service: "svc", Image: "ghcr.io/x/y:v1"}},
		{"Slack mailto link", "svc img -l <mailto:owner=ops@example.com>",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"owner": "ops@example.com"}}},
		{"quoted link is literal", "svc '<http://ghcr.io/x>'",
			Command{Kind: CmdDeliver, Service: "svc", Image: "<http://ghcr.io/x>"}},
		{"link only in part of a word is kept", "svc img -l url=<https://x>",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"url": "<https://x>"}}},
		{"-- ends flags", "-s qa -- svc -odd-image",
			Command{Kind: CmdDeliver, Service: "svc", Image: "-odd-image", Stage: "qa"}},
		{"a lone dash is an argument", "svc -", Command{Kind: CmdDeliver, Service: "svc", Image: "-"}},
		{"typographic dashes", "svc img —stage qa –project=p",
			Command{Kind: CmdDeliver, Service: "svc", Image: "img", Stage: "qa", Project: "p"}},
		{"a service may be named deliver", "deliver img", Command{Kind: CmdDeliver, Service: "deliver", Image: "img"}},
		{"longest name and image", long63 + " " + image512 + " -s " + long63,
			Command{Kind: CmdDeliver, Service: long63, Image: image512, Stage: long63}},
		{"no-break space separates", "svc\u00a0img", Command{Kind: CmdDeliver, Service: "svc", Image: "img"}},

		{"status", "status", Command{Kind: CmdStatus}},
		{"status id", "status 42", Command{Kind: CmdStatus, DeliveryID: 42}},
		{"status #id, any case", "STATUS #42", Command{Kind: CmdStatus, DeliveryID: 42}},
		{"largest id", "status 9223372036854775807", Command{Kind: CmdStatus, DeliveryID: 9223372036854775807}},
		{"leading zeros", "status 007", Command{Kind: CmdStatus, DeliveryID: 7}},

		{"history", "history svc", Command{Kind: CmdHistory, Service: "svc"}},
		{"history with flags", "history -s qa svc --project p", Command{Kind: CmdHistory, Service: "svc", Stage: "qa", Project: "p"}},

		{"abort", "abort 42", Command{Kind: CmdAbort, DeliveryID: 42}},
		{"abort in a stage", "abort #42 --stage qa", Command{Kind: CmdAbort, DeliveryID: 42, Stage: "qa"}},
		{"pause", "pause -s=qa 3", Command{Kind: CmdPause, DeliveryID: 3, Stage: "qa"}},
		{"resume", "Resume 3", Command{Kind: CmdResume, DeliveryID: 3}},

		{"rollback", "rollback svc production", Command{Kind: CmdRollback, Service: "svc", Stage: "production"}},
		{"rollback with project first", "rollback --project p svc production",
			Command{Kind: CmdRollback, Service: "svc", Stage: "production", Project: "p"}},

		{"approvals", "approvals", Command{Kind: CmdApprovals}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.in)
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCommand(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			back, err := ParseCommand(got.String())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("round trip of %q via %q = %#v, %v", tt.in, got.String(), back, err)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	huge := strings.Repeat("x", 200)
	tests := []struct {
		name string
		in   string
		kind CommandKind // whose usage the error carries; "" for the whole help
		want []string    // parts of the message
		not  string      // must not be in the message, if set
	}{
		{"too long", "svc " + strings.Repeat("a", maxCommandLen), "", []string{"command is too long"}, ""},
		{"invalid UTF-8", "svc img\xff", "", []string{"UTF-8"}, ""},
		{"unterminated quote", `svc "img`, "", []string{"unterminated quote", `"`}, ""},
		{"unterminated smart quote", "svc img -l ‘a=b", "", []string{"unterminated quote", "‘"}, ""},

		{"audit since nonsense", "audit --since soon", CmdAudit, []string{`--since "soon" is not a number of days such as 7d`}, ""},
		{"audit since too far", "audit --since 9999d", CmdAudit, []string{"--since looks back at most 400d"}, ""},
		{"audit since negative", "audit --since=-5m", CmdAudit, []string{"--since must look back some time"}, ""},
		{"stats needs a service", "stats", CmdStats, []string{"missing SERVICE"}, ""},
		{"audit takes no argument", "audit 7d", CmdAudit, []string{`unexpected "7d": /deliver audit takes no arguments`}, ""},
		{"unknown flag", "svc img --force", CmdDeliver, []string{`unknown flag "--force"`, "--project P, --stage S, --label k=v"}, ""},
		{"unknown short flag", "svc img -x", CmdDeliver, []string{`unknown flag "-x"`}, ""},
		{"long name with one dash", "svc img -stage qa", CmdDeliver, []string{`unknown flag "-stage"`}, ""},
		{"huge unknown flag is cut", "svc img --" + huge, CmdDeliver, []string{"unknown flag", "…"}, huge},
		{"flag not for status", "status 4 --stage qa", CmdStatus, []string{"--stage cannot be used with status", "status takes no flags"}, ""},
		{"flag not for history", "history svc -l a=b", CmdHistory, []string{"--label cannot be used with history", "--stage S, --project P"}, ""},
		{"flag not for abort", "abort 4 -p x", CmdAbort, []string{"--project cannot be used with abort", "abort takes --stage S"}, ""},
		{"stage flag not for rollback", "rollback svc qa --stage qa", CmdRollback, []string{"--stage cannot be used with rollback", "second argument"}, ""},
		{"flag not for approvals", "approvals -p x", CmdApprovals, []string{"approvals takes no flags"}, ""},
		{"flag not for help", "help --stage x", CmdHelp, []string{"help takes no flags"}, ""},

		{"flag without value at the end", "svc img --stage", CmdDeliver, []string{"--stage needs a value: --stage S"}, ""},
		{"flag followed by a flag", "svc img --project --stage qa", CmdDeliver, []string{"--project needs a value: --project P"}, ""},
		{"flag followed by --", "svc img -s -- x", CmdDeliver, []string{"--stage needs a value"}, ""},
		{"empty = value", "svc img --project=", CmdDeliver, []string{"--project needs a value"}, ""},
		{"empty quoted value", `svc img -l ""`, CmdDeliver, []string{"--label needs a value: --label k=v"}, ""},
		{"duplicate stage", "svc img -s qa --stage production", CmdDeliver, []string{"--stage is given twice"}, ""},
		{"duplicate project", "history svc -p a --project=a", CmdHistory, []string{"--project is given twice"}, ""},
		{"label without =", "svc img -l novalue", CmdDeliver, []string{`--label needs key=value, not "novalue"`}, ""},
		{"label without key", "svc img -l ' =v'", CmdDeliver, []string{"has no key"}, ""},
		{"label key with a space", "svc img -l 'a b=c'", CmdDeliver, []string{`label key "a b"`, "letters, digits"}, ""},
		{"label key with other characters", "svc img -l a:b=c", CmdDeliver, []string{`label key "a:b"`}, ""},
		{"duplicate label", "svc img -l a=1 -l a=2", CmdDeliver, []string{`label "a" is given twice`}, ""},
		{"duplicate label after trimming", "svc img -l a=1 -l ' a'=2", CmdDeliver, []string{`label "a" is given twice`}, ""},

		{"deliver without arguments", "--stage qa", CmdDeliver, []string{"missing SERVICE and IMAGE: /deliver SERVICE IMAGE"}, "["},
		{"deliver without image", "svc", CmdDeliver, []string{"missing IMAGE: /deliver SERVICE IMAGE"}, "["},
		{"deliver with a third argument", "svc img qa", CmdDeliver, []string{`unexpected "qa"`, "two arguments"}, ""},
		{"subcommand after a flag", "--stage qa abort 42", CmdAbort, []string{"abort is a subcommand", "must come first"}, ""},
		{"service named like a subcommand", "-- status img", CmdStatus, []string{"status is a subcommand"}, ""},
		{"status with two ids", "status 1 2", CmdStatus, []string{`unexpected "2"`, "/deliver status [ID]"}, ""},
		{"history without service", "history", CmdHistory, []string{"missing SERVICE: /deliver history SERVICE"}, "["},
		{"history with two services", "history a b", CmdHistory, []string{`unexpected "b"`, "one argument"}, ""},
		{"abort without id", "abort", CmdAbort, []string{"missing ID: /deliver abort ID"}, "["},
		{"pause with two ids", "pause 1 2", CmdPause, []string{`unexpected "2"`}, ""},
		{"resume without id", "resume --stage qa", CmdResume, []string{"missing ID: /deliver resume ID"}, ""},
		{"rollback without arguments", "rollback", CmdRollback, []string{"missing SERVICE and STAGE: /deliver rollback SERVICE STAGE"}, ""},
		{"rollback without stage", "rollback svc", CmdRollback, []string{"missing STAGE: /deliver rollback SERVICE STAGE"}, ""},
		{"rollback with a third argument", "rollback a b c", CmdRollback, []string{`unexpected "c"`}, ""},
		{"approvals with an argument", "approvals mine", CmdApprovals, []string{`unexpected "mine"`, "takes no arguments"}, ""},
		{"help with two topics", "help abort pause", CmdHelp, []string{`unexpected "pause"`}, ""},
		{"help with unknown topic", "help frobnicate", CmdHelp, []string{`unknown subcommand "frobnicate"`, "deliver, status"}, ""},

		{"id not a number", "abort x", CmdAbort, []string{"delivery id must be a number such as 42", `"x"`}, ""},
		{"id zero", "status 0", CmdStatus, []string{"delivery id must be a number such as 42"}, ""},
		{"id only #", "pause #", CmdPause, []string{"delivery id must be a number such as 42"}, ""},
		{"id too large", "resume 9223372036854775808", CmdResume, []string{"delivery id must be a number such as 42"}, ""},
		{"id with sign", "abort +4", CmdAbort, []string{"delivery id must be a number such as 42"}, ""},
		{"id negative after #", "abort #-4", CmdAbort, []string{"delivery id must be a number such as 42"}, ""},
		{"id decimal", "abort 4.2", CmdAbort, []string{"delivery id must be a number such as 42"}, ""},
		{"negative id reads as a flag", "status -5", CmdStatus, []string{`unknown flag "-5"`}, ""},

		{"service in capitals", "Svc img", CmdDeliver, []string{`invalid service name "Svc"`, "lowercase"}, ""},
		{"service ending in a dash", "history svc-", CmdHistory, []string{`invalid service name "svc-"`}, ""},
		{"service too long", strings.Repeat("a", 64) + " img", CmdDeliver, []string{"invalid service name", "at most 63"}, ""},
		{"huge service is cut", huge + " img", CmdDeliver, []string{`invalid service name "` + huge[:maxEcho] + `…"`}, huge},
		{"stage in capitals", "svc img --stage QA", CmdDeliver, []string{`invalid stage name "QA"`}, ""},
		{"rollback stage", "rollback svc q_a", CmdRollback, []string{`invalid stage name "q_a"`}, ""},
		{"project with a dot", "svc img -p=a.b", CmdDeliver, []string{`invalid project name "a.b"`}, ""},
		{"empty service", `"" img`, CmdDeliver, []string{`invalid service name ""`}, ""},
		{"empty image", `svc ""`, CmdDeliver, []string{"IMAGE is empty"}, ""},
		{"empty link", "svc <>", CmdDeliver, []string{"IMAGE is empty"}, ""},
		{"image with a space", `svc "ghcr.io/x y"`, CmdDeliver, []string{`image "ghcr.io/x y" has a space`}, ""},
		{"image too long", "svc " + strings.Repeat("i", maxImageLen+1), CmdDeliver, []string{"too long", "at most 512"}, strings.Repeat("i", maxEcho+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCommand(tt.in)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseCommand(%q) = %#v, %v; want a *UsageError", tt.in, c, err)
			}
			if ue.Error() != ue.Message {
				t.Errorf("Error() = %q, want the Message %q", ue.Error(), ue.Message)
			}
			for _, w := range tt.want {
				if !strings.Contains(ue.Message, w) {
					t.Errorf("Message %q does not contain %q", ue.Message, w)
				}
			}
			if tt.not != "" && strings.Contains(ue.Message, tt.not) {
				t.Errorf("Message %q contains %q", ue.Message, tt.not)
			}
			if ue.Usage != Help(tt.kind) {
				t.Errorf("Usage = %q, want Help(%q) = %q", ue.Usage, tt.kind, Help(tt.kind))
			}
			if !reflect.DeepEqual(c, Command{}) {
				t.Errorf("with an error ParseCommand returned %#v, want the zero Command", c)
			}
		})
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		name string
		c    Command
		want string
	}{
		{"deliver", Command{Kind: CmdDeliver, Service: "helloservice", Image: "ghcr.io/podtato-head/podtatoserver:v0.1.1", Project: "fulltour", Stage: "qa",
			Labels: map[string]string{"version": "v0.1.1"}},
			"helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1 --project fulltour --stage qa --label version=v0.1.1"},
		{"labels sorted by key", Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"b": "2", "a": "1", "c": ""}},
			"svc img --label a=1 --label b=2 --label c="},
		{"label value with a space", Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "a b"}},
			"svc img --label 'note=a b'"},
		{"label value with a single quote", Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": "it’s"}},
			`svc img --label "note=it’s"`},
		{"label value with both quotes", Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"note": `it's "x"`}},
			`svc img --label 'note=it'"'"'s "x"'`},
		{"label value that looks like a link", Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"u": "<x>"}},
			"svc img --label u=<x>"},
		{"label key with a dash first", Command{Kind: CmdDeliver, Service: "svc", Image: "img", Labels: map[string]string{"-k": "v"}},
			"svc img --label=-k=v"},
		{"image with a dash first", Command{Kind: CmdDeliver, Service: "svc", Image: "-img", Stage: "qa"}, "--stage qa -- svc -img"},
		{"image with a typographic dash first", Command{Kind: CmdDeliver, Service: "svc", Image: "—img"}, "-- svc —img"},
		{"image that looks like a link", Command{Kind: CmdDeliver, Service: "svc", Image: "<http://x>"}, "svc '<http://x>'"},
		{"image with quotes", Command{Kind: CmdDeliver, Service: "svc", Image: `a"b`}, `svc 'a"b'`},
		{"status", Command{Kind: CmdStatus}, "status"},
		{"status id", Command{Kind: CmdStatus, DeliveryID: 42}, "status 42"},
		{"history", Command{Kind: CmdHistory, Service: "svc", Stage: "qa", Project: "p"}, "history svc --project p --stage qa"},
		{"abort", Command{Kind: CmdAbort, DeliveryID: 42, Stage: "qa"}, "abort 42 --stage qa"},
		{"pause", Command{Kind: CmdPause, DeliveryID: 1}, "pause 1"},
		{"resume", Command{Kind: CmdResume, DeliveryID: 2, Stage: "prod"}, "resume 2 --stage prod"},
		{"rollback", Command{Kind: CmdRollback, Service: "svc", Stage: "production", Project: "p"}, "rollback svc production --project p"},
		{"approvals", Command{Kind: CmdApprovals}, "approvals"},
		{"help", Command{Kind: CmdHelp}, "help"},
		{"help topic", Command{Kind: CmdHelp, Topic: CmdRollback}, "help rollback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Fatalf("String() = %s, want %s", got, tt.want)
			}
			back, err := ParseCommand(tt.want)
			if err != nil || !reflect.DeepEqual(back, tt.c) {
				t.Fatalf("ParseCommand(%q) = %#v, %v; want %#v", tt.want, back, err, tt.c)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	all := Help("")
	lines := strings.Split(all, "\n")
	for _, sc := range subcommands {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, sc.usage+" ") {
				n++
				if !strings.Contains(l, sc.about) {
					t.Errorf("help line %q lacks the explanation %q", l, sc.about)
				}
			}
		}
		if n != 1 {
			t.Errorf("full help has %d lines for %s, want 1:\n%s", n, sc.kind, all)
		}
		one := Help(sc.kind)
		if !strings.HasPrefix(one, sc.usage+"\n") {
			t.Errorf("Help(%q) = %q, want it to start with its usage", sc.kind, one)
		}
		for _, f := range sc.flags {
			if !strings.Contains(one, cmdFlagLong[f]) {
				t.Errorf("Help(%q) does not explain %s", sc.kind, cmdFlagLong[f])
			}
		}
	}
	if Help("frobnicate") != all {
		t.Errorf("Help of an unknown topic is not the full help")
	}
}

// commandSeeds seed FuzzParseCommand; more are in testdata/fuzz/FuzzParseCommand.
var commandSeeds = []string{
	"",
	`unfreeze #42 --reason "hotfix for INC-42"`,
	`unfreeze 7 --reason=-1 'a "b"'`,
	"freezes",
	"helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1 --project fulltour --stage qa --label version=v0.1.1",
	"svc <http://ghcr.io/x/y:v1|ghcr.io/x/y:v1> -l “note=a b” -l ‘k’=v",
	"-s=qa -- svc -img",
	`svc img --label note="it's"'"x"'`,
	"status #42",
	"history svc -s qa -p p",
	"abort 42 —stage qa",
	"rollback svc production --project p",
	"approvals",
	"help rollback",
	"svc 'unterminated",
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add(s)
	}
	kinds := map[CommandKind]bool{}
	for _, sc := range subcommands {
		kinds[sc.kind] = true
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCommand(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Message == "" || ue.Usage == "" {
				t.Fatalf("ParseCommand(%q) error %#v is not a complete *UsageError", text, err)
			}
			return
		}
		if !kinds[c.Kind] {
			t.Fatalf("ParseCommand(%q).Kind = %q", text, c.Kind)
		}
		switch c.Kind {
		case CmdDeliver:
			if c.Service == "" || c.Image == "" {
				t.Fatalf("ParseCommand(%q) = %#v: a delivery without service or image", text, c)
			}
		case CmdAbort, CmdPause, CmdResume:
			if c.DeliveryID <= 0 {
				t.Fatalf("ParseCommand(%q) = %#v: no delivery id", text, c)
			}
		case CmdUnfreeze:
			if c.DeliveryID <= 0 || strings.TrimSpace(c.Reason) == "" {
				t.Fatalf("ParseCommand(%q) = %#v: no delivery id or reason", text, c)
			}
		}
		if c.Labels != nil && len(c.Labels) == 0 {
			t.Fatalf("ParseCommand(%q) has empty, non-nil Labels", text)
		}
		s := c.String()
		back, err := ParseCommand(s)
		if len(s) > maxCommandLen {
			// Documented: String writes -p, -s and -l long, so a command at the limit may outgrow it.
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(ue.Message, "too long") {
				t.Fatalf("ParseCommand of the %d-byte String() of %q: %v, want too long", len(s), text, err)
			}
			return
		}
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("ParseCommand(%q) = %#v\nString() = %q\nreads back as %#v, %v", text, c, s, back, err)
		}
	})
}
