package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/shipgate/shipgate/adapters/discord/discordfake"
	"github.com/shipgate/shipgate/adapters/slack/slackfake"
	"github.com/shipgate/shipgate/config/configtest"
)

const (
	dcGuild    = "900000000000000001"
	dcChannel  = "900000000000000002"
	dcApprover = "900000000000000003" // a guild role id, bound to shipgate's approver role
	dcDev      = "800000000000000001" // deployer, triggers deliveries
	dcOps      = "800000000000000002" // holds the approver guild role
	dcOut      = "800000000000000003" // no role
	dcWait     = 30 * time.Second
)

// dcShipyard is the tutorial's shipyard without qa's evaluation (there is no Prometheus) and rollback, or
// production's release.
var dcShipyard = configtest.Variant(configtest.TutorialShipyard,
	"            - name: evaluation\n", "",
	configtest.QARollback, "",
	"            - name: release\n", "")

// dcE2E is shipgate serving a project bound to one Discord channel, talking to the fake Discord.
type dcE2E struct {
	t    *testing.T
	base string
	fake *discordfake.Server
	priv ed25519.PrivateKey
	// replayed are the interactions sent twice on purpose.
	replayed map[string]bool
}

func startDiscordE2E(t *testing.T) *dcE2E {
	t.Helper()
	fake := discordfake.New(t)
	fake.AddChannel(dcGuild, dcChannel)
	pub, priv := discordfake.GenerateKey(t)
	dir := t.TempDir()
	configtest.WriteFiles(t, dir, map[string]string{
		"projects/fulltour/shipyard.yaml":       dcShipyard,
		"projects/fulltour/executors.yaml":      "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n",
		"projects/fulltour/helloservice/README": "helloservice\n",
		"shipgate.yaml": fmt.Sprintf(`database: shipgate.db
projects_dir: projects
discord:
  application_id: "%s"
  public_key: %s
  bot_token: %s
  guild_id: "%s"
  api_url: %s
channels:
  - platform: discord
    channel: "%s"
    projects: [fulltour]
    roles:
      deployer: ["%s"]
      approver: ["%s", "%s"]
`, discordfake.DefaultAppID, discordfake.PublicKeyHex(pub), discordfake.DefaultToken, dcGuild, fake.URL()+"/", dcChannel, dcDev, dcApprover, dcDev),
	})
	fake.SetGuildRoles(dcGuild, discordfake.Role{ID: dcApprover, Name: "release-managers"})
	base, _, _ := startServe(t, filepath.Join(dir, "shipgate.yaml"))
	return &dcE2E{t: t, base: base, fake: fake, priv: priv, replayed: map[string]bool{}}
}

// answer is an interaction response as a test reads it; discordgo's own type cannot decode components.
type answer struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data *struct {
		Content    string                    `json:"content"`
		Flags      discordgo.MessageFlags    `json:"flags"`
		Embeds     []*discordgo.MessageEmbed `json:"embeds"`
		CustomID   string                    `json:"custom_id"`
		Title      string                    `json:"title"`
		Components json.RawMessage           `json:"components"`
	} `json:"data"`
}

// send posts a signed interaction, as Discord does, and returns the status and decoded answer. An
// answer to an interaction the fake issued is handed to the fake as Discord takes it, which checks it
// and records it for the contract test; a replayed interaction's answer is not (Discord would not
// deliver it twice).
func (e *dcE2E) send(body []byte, at time.Time) (int, answer) {
	e.t.Helper()
	req := discordfake.SignedRequest(e.t, e.base+"/discord/interactions", e.priv, body, at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out answer
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &out); err != nil {
			e.t.Fatalf("answer %s: %v", data, err)
		}
		id := discordfake.InteractionID(body)
		if _, answered := e.fake.Callback(id); out.Type != discordgo.InteractionResponsePong && !answered && !e.replayed[id] {
			if err := e.fake.RespondInline(body, data); err != nil {
				e.t.Errorf("Discord would refuse the answer: %v", err)
			}
		}
	}
	return resp.StatusCode, out
}

// replay sends an interaction again, as a replayed request would arrive.
func (e *dcE2E) replay(body []byte) (int, answer) {
	e.t.Helper()
	e.replayed[discordfake.InteractionID(body)] = true
	return e.send(body, time.Now())
}

func member(id string, roles ...string) discordfake.Member {
	return discordfake.Member{UserID: id, Username: "user" + id[len(id)-1:], Roles: roles}
}

// deliver types /deliver start in the channel (or in a thread, when where is one).
func (e *dcE2E) deliver(user string, tag string) (int, answer) {
	return e.deliverIn(dcChannel, user, tag)
}

func (e *dcE2E) deliverIn(where, user, tag string) (int, answer) {
	return e.send(e.fake.Slash(dcGuild, where, member(user), "deliver",
		discordfake.Subcommand("start", discordfake.StringOption("service", "helloservice"),
			discordfake.StringOption("image", "ghcr.io/podtato-head/podtatoserver:"+tag),
			discordfake.StringOption("labels", "version="+tag))), time.Now())
}

// click clicks a button on a message as Discord sends it: from the message's own channel, which for an
// approval request is the delivery's thread.
func (e *dcE2E) click(m discordfake.Member, messageID, customID string) ([]byte, int, answer) {
	body := e.fake.Click(dcGuild, m, messageID, customID)
	code, out := e.send(body, time.Now())
	return body, code, out
}

// checkPings checks what a posted message pings: its content names want, and its allowed_mentions let
// exactly users and roles ping, parsing nothing else (no @everyone, no mention quoted from text).
func checkPings(t *testing.T, fake *discordfake.Server, messageID, want string, users, roles []string) {
	t.Helper()
	for _, c := range fake.CallsTo(discordfake.RouteMessageCreate) {
		if c.MessageID != messageID || !c.OK() {
			continue
		}
		var body struct {
			Content         string `json:"content"`
			AllowedMentions *struct {
				Parse []string `json:"parse"`
				Users []string `json:"users"`
				Roles []string `json:"roles"`
			} `json:"allowed_mentions"`
		}
		if err := json.Unmarshal(c.Raw, &body); err != nil {
			t.Fatal(err)
		}
		am := body.AllowedMentions
		if !strings.Contains(body.Content, want) || am == nil || am.Parse == nil || len(am.Parse) != 0 ||
			strings.Join(am.Users, ",") != strings.Join(users, ",") || strings.Join(am.Roles, ",") != strings.Join(roles, ",") {
			t.Errorf("message %s pings %q with allowed_mentions %+v; want %q, users %v, roles %v", messageID, body.Content, am, want, users, roles)
		}
		return
	}
	t.Errorf("no message %s was posted", messageID)
}

func content(r answer) string {
	if r.Data == nil {
		return ""
	}
	s := r.Data.Content
	for _, em := range r.Data.Embeds {
		s += "\n" + em.Title + "\n" + em.Description
	}
	return s
}

func embedText(m discordfake.Message) string {
	var b strings.Builder
	b.WriteString(m.Content)
	for _, em := range m.Embeds {
		b.WriteString("\n" + em.Title + "\n" + em.Description)
		for _, f := range em.Fields {
			b.WriteString("\n" + f.Name + ": " + f.Value)
		}
	}
	return b.String()
}

// findApproval finds a message in the channels (a thread, the channel) whose buttons approve and reject,
// and returns it with their custom ids.
func findApproval(fake *discordfake.Server, channels ...string) (discordfake.Message, string, string, bool) {
	for _, ch := range channels {
		for _, m := range fake.Messages(ch) {
			for _, c := range m.Components {
				row, ok := c.(*discordgo.ActionsRow)
				if !ok || len(row.Components) < 2 {
					continue
				}
				approve, ok1 := row.Components[0].(*discordgo.Button)
				reject, ok2 := row.Components[1].(*discordgo.Button)
				if ok1 && ok2 && strings.HasPrefix(approve.CustomID, "deliver.approve:") {
					return m, approve.CustomID, reject.CustomID, true
				}
			}
		}
	}
	return discordfake.Message{}, "", "", false
}

// The whole Discord flow through serve: /deliver registered, PING, a delivery with its card and thread,
// approvals refused for a member without the role and for the requester, accepted for a member holding
// the approver guild role, a replayed click ignored, bad and stale signatures refused, and a rejection
// through the modal.
func TestDiscordEndToEnd(t *testing.T) {
	e := startDiscordE2E(t)
	e.fake.WaitFor(t, dcWait, "/deliver registered", func(calls []discordfake.Call) bool {
		return len(discordfake.FilterCalls(calls, discordfake.RouteCommandsOverwrite)) > 0
	})
	if cmds := e.fake.Commands(dcGuild); len(cmds) != 1 || cmds[0].Name != "deliver" || len(cmds[0].Options) < 10 {
		t.Fatalf("registered commands: %+v", cmds)
	}
	if code, out := e.send(discordfake.Ping("1"), time.Now()); code != http.StatusOK || out.Type != discordgo.InteractionResponsePong {
		t.Fatalf("PING = %d %+v", code, out)
	}
	// Discord probes the endpoint with bad signatures; a stale timestamp is refused too.
	req := discordfake.SignedRequest(t, e.base+"/discord/interactions", e.priv, discordfake.Ping("2"), time.Now())
	req.Header.Set("X-Signature-Ed25519", strings.Repeat("0", 128))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad signature: %v %v", resp.StatusCode, err)
	}
	if code, _ := e.send(discordfake.Ping("3"), time.Now().Add(-6*time.Minute)); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: %d", code)
	}

	code, out := e.deliver(dcDev, "v0.1.1")
	if code != http.StatusOK || out.Type != discordgo.InteractionResponseChannelMessageWithSource || out.Data.Flags&discordgo.MessageFlagsEphemeral == 0 ||
		!strings.Contains(content(out), "Delivery #1") {
		t.Fatalf("/deliver start = %d %+v %q", code, out.Type, content(out))
	}
	if code, out := e.deliver(dcOut, "v0.1.1"); code != http.StatusOK || !strings.Contains(content(out), "you need the role deployer") {
		t.Errorf("/deliver by a member without the role: %q", content(out))
	}

	e.fake.WaitFor(t, dcWait, "the approval request", func(calls []discordfake.Call) bool {
		for _, c := range calls {
			if c.Route == discordfake.RouteMessageCreate && strings.Contains(string(c.Raw), "deliver.approve:") {
				return true
			}
		}
		return false
	})
	var roots []discordfake.Message // the channel's messages that everyone sees: the answers were ephemeral
	for _, m := range e.fake.Messages(dcChannel) {
		if !m.Ephemeral() {
			roots = append(roots, m)
		}
	}
	if len(roots) == 0 {
		t.Fatal("no root card in the channel")
	}
	root := roots[0]
	thread, ok := e.fake.Thread(root.ID)
	if !ok {
		t.Fatalf("no thread started on the root card %s:\n%s", root.ID, discordfake.DumpCalls(e.fake.Calls()))
	}
	// At the default thread_detail, results, the thread has each task's finish and the stage's end, then
	// the approval request; the root card shows the rest.
	var replies []string
	for _, m := range e.fake.Messages(thread) {
		replies = append(replies, embedText(m))
	}
	wantReplies := []string{"qa · `deployment` ✅ pass", "qa · `test` ✅ pass", "qa · ✅ `delivery` finished", "Approval: helloservice v0.1.1 to production"}
	if len(replies) != len(wantReplies) {
		t.Errorf("%d replies in the thread, want %d: %q", len(replies), len(wantReplies), replies)
	} else {
		for i, want := range wantReplies {
			if !strings.Contains(replies[i], want) {
				t.Errorf("reply %d in the thread is %q, want one saying %q", i, replies[i], want)
			}
		}
	}
	approval, approveID, rejectID, ok := findApproval(e.fake, thread, dcChannel)
	if !ok {
		t.Fatal("no approval request with buttons")
	}
	if len(approveID) > 100 || !strings.HasPrefix(rejectID, "deliver.reject:") {
		t.Errorf("custom ids %q %q", approveID, rejectID)
	}
	// The approvers are the requester (by user id) and a guild role, named as Discord shows it.
	if text := embedText(approval); !strings.Contains(text, "role approver: <@"+dcDev+">, @release-managers") {
		t.Errorf("approvers line:\n%s", text)
	}
	// The request lives in the delivery's thread and pings the approver role, and nobody else: not the
	// requester, who may not approve it.
	if approval.ChannelID != thread {
		t.Errorf("the approval request is in %s, not in the delivery's thread %s", approval.ChannelID, thread)
	}
	checkPings(t, e.fake, approval.ID, "<@&"+dcApprover+">", nil, []string{dcApprover})
	// The pointer left in the channel pings the role too: a bot's role mention in a thread reaches only
	// the role's members already in it.
	for _, m := range e.fake.Messages(dcChannel) {
		if strings.HasPrefix(m.Content, "📣 Approval") {
			checkPings(t, e.fake, m.ID, "<@&"+dcApprover+">", nil, []string{dcApprover})
		}
	}

	// Refused in the thread: no role (for the role, not for the channel), and the requester (who holds
	// approver by user id).
	for _, tt := range []struct {
		m    discordfake.Member
		want string
	}{{member(dcOut), "You need the role approver"}, {member(dcDev), "You triggered this delivery"}} {
		body, code, out := e.click(tt.m, approval.ID, approveID)
		var sent struct {
			ChannelID string `json:"channel_id"`
			Channel   struct {
				Type     int    `json:"type"`
				ParentID string `json:"parent_id"`
			} `json:"channel"`
		}
		if err := json.Unmarshal(body, &sent); err != nil || sent.ChannelID != thread || sent.Channel.Type != 11 || sent.Channel.ParentID != dcChannel {
			t.Fatalf("the click is not sent from the thread as Discord sends it: %s", body)
		}
		if code != http.StatusOK || out.Data == nil || out.Data.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(content(out), tt.want) ||
			strings.Contains(content(out), "bound channel") {
			t.Errorf("click by %s = %d %q, want an ephemeral %q", tt.m.UserID, code, content(out), tt.want)
		}
	}

	// Accepted: the member holding the approver guild role.
	body, code, out := e.click(member(dcOps, dcApprover), approval.ID, approveID)
	if code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	first := content(out)
	e.fake.WaitFor(t, dcWait, "production finished on the root card", func([]discordfake.Call) bool {
		m, _ := e.fake.Message(dcChannel, root.ID)
		return strings.Contains(embedText(m), "production ✅")
	})
	// /deliver typed in the delivery's thread counts as typed in its channel.
	if code, out := e.send(e.fake.Slash(dcGuild, thread, member(dcOut), "deliver", discordfake.Subcommand("status")), time.Now()); code != http.StatusOK ||
		!strings.Contains(content(out), "#1 helloservice v0.1.1") {
		t.Errorf("/deliver status in the thread = %d %q", code, content(out))
	}

	// The same signed click again is answered as before and counts once.
	code, again := e.replay(body)
	if code != http.StatusOK || content(again) != first {
		t.Errorf("replayed click = %d %q, want %q", code, content(again), first)
	}
	e.fake.WaitFor(t, dcWait, "the decided approval request, without buttons", func([]discordfake.Call) bool {
		m, _ := e.fake.Message(approval.ChannelID, approval.ID)
		return strings.Contains(embedText(m), "<@"+dcOps+">") && len(m.Components) == 0
	})

	// Reject through the modal.
	e.deliver(dcDev, "v0.1.2")
	var approval2 discordfake.Message
	var reject2 string
	e.fake.WaitFor(t, dcWait, "the second approval request", func([]discordfake.Call) bool {
		for _, m := range e.fake.Messages(dcChannel) {
			if th, ok := e.fake.Thread(m.ID); ok && m.ID != root.ID {
				var found bool
				approval2, _, reject2, found = findApproval(e.fake, th)
				return found
			}
		}
		return false
	})
	_, code, out = e.click(member(dcOps, dcApprover), approval2.ID, reject2)
	if code != http.StatusOK || out.Type != discordgo.InteractionResponseModal || out.Data == nil || !strings.HasPrefix(out.Data.CustomID, "deliver.reject.modal:") {
		t.Fatalf("reject click = %d %+v", code, out)
	}
	code, out = e.send(e.fake.SubmitModal(dcGuild, member(dcOps, dcApprover), approval2.ID, out.Data.CustomID,
		map[string]string{"reason": "p95 too slow"}), time.Now())
	if code != http.StatusOK || !strings.Contains(strings.ToLower(content(out)), "reject") {
		t.Errorf("modal submit = %d %q", code, content(out))
	}
	e.fake.WaitFor(t, dcWait, "the rejection on the approval request", func([]discordfake.Call) bool {
		m, _ := e.fake.Message(approval2.ChannelID, approval2.ID)
		return strings.Contains(embedText(m), "p95 too slow")
	})
	checkDiscordContract(t, e.fake, discordfake.RouteCommandsOverwrite, discordfake.RouteMessageCreate, discordfake.RouteMessageEdit,
		discordfake.RouteThreadCreate, discordfake.RouteInteractionInline)
}

// One project bound to a Slack channel and a Discord channel: a delivery started on Discord shows in
// both, and an approval given with Slack's button updates the request on Discord too.
func TestSlackAndDiscordTogether(t *testing.T) {
	sl := slackfake.New(t)
	sl.AddChannel(e2eChannel)
	dc := discordfake.New(t)
	dc.AddChannel(dcGuild, dcChannel)
	pub, priv := discordfake.GenerateKey(t)
	base := serveSlack(t, t.TempDir(), sl, map[string]string{
		"projects/fulltour/shipyard.yaml":       dcShipyard,
		"projects/fulltour/executors.yaml":      "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n",
		"projects/fulltour/helloservice/README": "helloservice\n",
	}, fmt.Sprintf(`discord:
  application_id: "%s"
  public_key: %s
  bot_token: %s
  guild_id: "%s"
  api_url: %s
channels:
  - {platform: slack, channel: %s, projects: [fulltour], roles: {deployer: [%s], approver: [%s]}}
  - {platform: discord, channel: "%s", projects: [fulltour], roles: {deployer: ["%s"], approver: ["%s"]}}
`, discordfake.DefaultAppID, discordfake.PublicKeyHex(pub), discordfake.DefaultToken, dcGuild, dc.URL(),
		e2eChannel, e2eDev, e2eOps, dcChannel, dcDev, dcApprover)).base
	e := &dcE2E{t: t, base: base, fake: dc, priv: priv}
	dc.WaitFor(t, dcWait, "/deliver registered", func(calls []discordfake.Call) bool {
		return len(discordfake.FilterCalls(calls, discordfake.RouteCommandsOverwrite)) > 0
	})
	if code, out := e.deliver(dcDev, "v0.1.1"); code != http.StatusOK || !strings.Contains(content(out), "Delivery #1") {
		t.Fatalf("/deliver on Discord = %d %q", code, content(out))
	}

	// The approval request reaches both platforms.
	var slackTS, slackThread, value string
	sl.WaitFor(t, dcWait, "the approval request on Slack", func(calls []slackfake.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && hasBlockType(c.Blocks, "actions") {
				slackTS, slackThread = c.TS, c.ThreadTS
				return true
			}
		}
		return false
	})
	var dcApproval discordfake.Message
	dc.WaitFor(t, dcWait, "the approval request on Discord", func([]discordfake.Call) bool {
		for _, m := range dc.Messages(dcChannel) {
			if th, ok := dc.Thread(m.ID); ok {
				var found bool
				dcApproval, _, _, found = findApproval(dc, th)
				return found
			}
		}
		return false
	})
	msg, _ := sl.Message(e2eChannel, slackTS)
	value = buttonValue(t, msg.Blocks)

	// Approved on Slack.
	req := slackfake.SignedRequest(t, base+"/slack/interactions", e2eSecret, time.Now(),
		slackfake.InteractionForm(sl.BlockActionPayload(e2eChannel, e2eOps, slackTS, slackThread, "deliver.approve", "approval", value, "T-both-1")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Slack click: %v %v", resp, err)
	}
	resp.Body.Close()

	// Discord's copy of the request shows the decision, naming the Slack user as such, and loses its
	// buttons.
	dc.WaitFor(t, dcWait, "the decision on Discord", func([]discordfake.Call) bool {
		m, _ := dc.Message(dcApproval.ChannelID, dcApproval.ID)
		return strings.Contains(embedText(m), "Approved by "+e2eOps+" (slack)") && len(m.Components) == 0
	})
	checkDiscordContract(t, dc, discordfake.RouteMessageCreate, discordfake.RouteMessageEdit)
	checkSlackContract(t, sl, nil, "chat.postMessage", "chat.update")
}
