package discord

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Commands is /deliver as Discord registers it: one subcommand per bot command, with typed options, so
// that Discord's client shows each one's arguments and autocompletes services.
func Commands() []*discordgo.ApplicationCommand {
	str := func(name, about string, required, autocomplete bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: about,
			Required: required, Autocomplete: autocomplete}
	}
	id := func(required bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "id", Description: "the delivery's number",
			Required: required, MinValue: new(1.0)}
	}
	service := str("service", "the service", true, true)
	stage := func(about string, required bool) *discordgo.ApplicationCommandOption {
		return str("stage", about, required, false)
	}
	sub := func(name, about string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: about, Options: opts}
	}
	topics := []*discordgo.ApplicationCommandOptionChoice{}
	for _, t := range []string{"start", "status", "history", "stats", "abort", "pause", "resume", "rollback", "unfreeze", "freezes", "approvals", "audit"} {
		topics = append(topics, &discordgo.ApplicationCommandOptionChoice{Name: t, Value: t})
	}
	return []*discordgo.ApplicationCommand{{
		Name:        "deliver",
		Description: "Deliver a build through its stages, and follow and control deliveries",
		Options: []*discordgo.ApplicationCommandOption{
			sub("start", "start a delivery of an image to a service", service, str("image", "the image, such as ghcr.io/org/app:v1.2.3", true, false),
				str("labels", "labels such as version=v1.2.3 team=web (space separated)", false, false), stage("the stage to start in, instead of the first", false),
				str("project", "the project, when several projects of this channel have the service", false, false)),
			sub("status", "show the latest deliveries, or one", id(false)),
			sub("history", "show the last deliveries of a service", service, stage("only deliveries that reached this stage", false)),
			sub("stats", "show a service's DORA figures for the last 30 days", service, stage("the stage deployments count in, instead of the last", false)),
			sub("abort", "stop a delivery", id(true), stage("stop only its run in this stage", false)),
			sub("pause", "pause a delivery before its next task", id(true), stage("pause only its run in this stage", false)),
			sub("resume", "resume a paused delivery", id(true), stage("resume only its run in this stage", false)),
			sub("rollback", "run the rollback sequence of a service in a stage", service, stage("the stage", true)),
			sub("unfreeze", "start a delivery a freeze window holds, now (role freeze-exempt)", id(true),
				str("reason", "why it cannot wait, for the audit trail", true, false)),
			sub("freezes", "list the freeze windows in force and the next ones"),
			sub("approvals", "list the approvals waiting for you"),
			sub("audit", "show the audit trail of this channel's projects (role auditor)", str("since", "how far back: 30m, 12h, 7d (default 7d)", false, false)),
			sub("help", "show the help", &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "topic",
				Description: "a subcommand", Choices: topics}),
		},
	}}
}

// commandText writes a /deliver interaction as the command text the bot parses, so that Discord and
// Slack share one grammar, one set of checks and one set of error messages: start becomes
// "SERVICE IMAGE --label k=v …", the others "SUBCOMMAND ARGS --stage S".
func commandText(data discordgo.ApplicationCommandInteractionData) (string, error) {
	if data.Name != "deliver" || len(data.Options) != 1 || data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		return "", fmt.Errorf("this is not a /deliver command shipgate knows; try /deliver help")
	}
	sub := data.Options[0]
	opt := map[string]string{}
	for _, o := range sub.Options {
		switch v := o.Value.(type) {
		case float64: // Discord sends integers as JSON numbers
			opt[o.Name] = strconv.FormatInt(int64(v), 10)
		default:
			opt[o.Name] = fmt.Sprint(v)
		}
	}
	var words []string
	add := func(ws ...string) {
		for _, w := range ws {
			words = append(words, quote(w))
		}
	}
	flag := func(name, key string) {
		if v, ok := opt[key]; ok && v != "" {
			words = append(words, name, quote(v))
		}
	}
	switch sub.Name {
	case "start":
		add(opt["service"], opt["image"])
		for _, l := range strings.FieldsFunc(opt["labels"], func(r rune) bool { return r == ' ' || r == ',' || r == '\n' }) {
			words = append(words, "--label", quote(l))
		}
		flag("--stage", "stage")
		flag("--project", "project")
	case "status":
		words = append(words, "status")
		if id := opt["id"]; id != "" {
			add(id)
		}
	case "history", "stats":
		words = append(words, sub.Name)
		add(opt["service"])
		flag("--stage", "stage")
	case "abort", "pause", "resume":
		words = append(words, sub.Name)
		add(opt["id"])
		flag("--stage", "stage")
	case "rollback":
		words = append(words, "rollback")
		add(opt["service"], opt["stage"])
	case "unfreeze":
		words = append(words, "unfreeze")
		add(opt["id"])
		// --reason=VALUE: a reason that starts with a dash is still its value.
		words = append(words, "--reason="+quote(opt["reason"]))
	case "freezes", "approvals":
		words = append(words, sub.Name)
	case "audit":
		words = append(words, "audit")
		flag("--since", "since")
	case "help":
		words = append(words, "help")
		if t := opt["topic"]; t != "" {
			if t == "start" {
				t = "deliver"
			}
			add(t)
		}
	default:
		return "", fmt.Errorf("/deliver %s is not a subcommand shipgate knows; try /deliver help", sub.Name)
	}
	return strings.Join(words, " "), nil
}

// quote makes one word of a value for the bot's parser, which splits on spaces and groups with quotes.
func quote(v string) string {
	switch {
	case v == "":
		return `""`
	case !strings.ContainsAny(v, " \t\n'\"‘’“”"):
		return v
	case !strings.ContainsAny(v, `"“”`):
		return `"` + v + `"`
	}
	return "'" + strings.NewReplacer("'", "", "‘", "", "’", "").Replace(v) + "'"
}
