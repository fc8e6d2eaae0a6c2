package discordfake

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestSignedRequestVerifies(t *testing.T) {
	pub, priv := GenerateKey(t)
	if len(PublicKeyHex(pub)) != 64 {
		t.Errorf("public key hex = %q", PublicKeyHex(pub))
	}
	at := time.Unix(1740830400, 0)
	body := Ping("I1")
	req := SignedRequest(t, "http://shipgate.test/discord/interactions", priv, body, at)
	if req.Header.Get("X-Signature-Timestamp") != "1740830400" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", req.Header)
	}
	if !discordgo.VerifyInteraction(req, pub) {
		t.Fatal("a good signature does not verify")
	}
	// VerifyInteraction puts the body back for the handler.
	if got, _ := io.ReadAll(req.Body); !bytes.Equal(got, body) {
		t.Errorf("body after verification = %s", got)
	}

	altered := SignedRequest(t, "http://x/", priv, body, at)
	altered.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("I1"), []byte("I2"), 1)))
	if discordgo.VerifyInteraction(altered, pub) {
		t.Error("an altered body verifies")
	}
	late := SignedRequest(t, "http://x/", priv, body, at)
	late.Header.Set("X-Signature-Timestamp", strconv.FormatInt(at.Unix()+1, 10))
	if discordgo.VerifyInteraction(late, pub) {
		t.Error("an altered timestamp verifies")
	}
	otherPub, _ := GenerateKey(t)
	if discordgo.VerifyInteraction(SignedRequest(t, "http://x/", priv, body, at), otherPub) {
		t.Error("another key verifies")
	}
	if Sign(priv, "1", body) == Sign(priv, "2", body) {
		t.Error("the timestamp is not signed")
	}
}

func TestPayloadsDecode(t *testing.T) {
	member := Member{UserID: "U1", Username: "alice", Roles: []string{"R1", "R2"}}
	t.Run("ping", func(t *testing.T) {
		i := interactionOf(t, Ping("I0"))
		if i.Type != discordgo.InteractionPing || i.ID != "I0" || i.AppID != DefaultAppID {
			t.Errorf("ping = %+v", i)
		}
	})
	t.Run("command", func(t *testing.T) {
		i := interactionOf(t, Command("I1", "tok", "A1", "G1", "C1", member, "deliver",
			Subcommand("start", StringOption("service", "api"), IntegerOption("percent", 10), BooleanOption("dry", true))))
		if i.Type != discordgo.InteractionApplicationCommand || i.Token != "tok" || i.AppID != "A1" || i.GuildID != "G1" || i.ChannelID != "C1" || i.User != nil {
			t.Fatalf("interaction = %+v", i)
		}
		if i.Member == nil || i.Member.User.ID != "U1" || i.Member.User.Username != "alice" || len(i.Member.Roles) != 2 || i.Member.Permissions != DefaultPermissions {
			t.Errorf("member = %+v", i.Member)
		}
		d := i.ApplicationCommandData()
		if d.Name != "deliver" || d.CommandType != discordgo.ChatApplicationCommand || len(d.Options) != 1 {
			t.Fatalf("data = %+v", d)
		}
		sub := d.Options[0]
		if sub.Type != discordgo.ApplicationCommandOptionSubCommand || sub.Name != "start" {
			t.Fatalf("subcommand = %+v", sub)
		}
		if sub.GetOption("service").StringValue() != "api" || sub.GetOption("percent").IntValue() != 10 || !sub.GetOption("dry").BoolValue() {
			t.Errorf("options = %+v", sub.Options)
		}
	})
	t.Run("group", func(t *testing.T) {
		i := interactionOf(t, Command("I1", "tok", "A1", "G1", "C1", member, "deliver",
			SubcommandGroup("policy", Subcommand("show", StringOption("service", "api")))))
		g := i.ApplicationCommandData().Options[0]
		if g.Type != discordgo.ApplicationCommandOptionSubCommandGroup || g.Options[0].Options[0].StringValue() != "api" {
			t.Errorf("group = %+v", g)
		}
	})
	t.Run("dm", func(t *testing.T) {
		i := interactionOf(t, Command("I1", "tok", "A1", "", "D1", member, "deliver"))
		if i.Member != nil || i.User == nil || i.User.ID != "U1" || i.GuildID != "" {
			t.Errorf("dm = %+v", i)
		}
	})
	t.Run("autocomplete", func(t *testing.T) {
		i := interactionOf(t, Autocomplete("I1", "tok", "A1", "G1", "C1", member, "deliver",
			Subcommand("start", StringOption("service", "ap"), StringOption("version", "1."))))
		if i.Type != discordgo.InteractionApplicationCommandAutocomplete {
			t.Fatalf("type = %v", i.Type)
		}
		opts := i.ApplicationCommandData().Options[0].Options
		if opts[0].Focused || !opts[1].Focused {
			t.Errorf("focus by default: %+v %+v", opts[0], opts[1])
		}
		i = interactionOf(t, Autocomplete("I1", "tok", "A1", "G1", "C1", member, "deliver",
			Subcommand("start", StringOption("service", "ap").Focus(), StringOption("version", "1."))))
		if opts := i.ApplicationCommandData().Options[0].Options; !opts[0].Focused || opts[1].Focused {
			t.Errorf("focus as marked: %+v %+v", opts[0], opts[1])
		}
	})
	t.Run("component", func(t *testing.T) {
		i := interactionOf(t, Component("I1", "tok", "A1", "G1", "C1", "M1", Member{UserID: "U2", Username: "bob", Permissions: 1 << 3}, "appr:42"))
		d := i.MessageComponentData()
		if i.Type != discordgo.InteractionMessageComponent || d.CustomID != "appr:42" || d.ComponentType != discordgo.ButtonComponent {
			t.Errorf("data = %+v", d)
		}
		if i.Message == nil || i.Message.ID != "M1" || i.Message.ChannelID != "C1" || i.Member.Permissions != 1<<3 || len(i.Member.Roles) != 0 {
			t.Errorf("interaction = %+v member %+v", i, i.Member)
		}
		sel := interactionOf(t, SelectComponent("I1", "tok", "A1", "G1", "C1", "M1", member, "env", "prod", "stage"))
		if d := sel.MessageComponentData(); d.ComponentType != discordgo.SelectMenuComponent || len(d.Values) != 2 || d.Values[1] != "stage" {
			t.Errorf("select = %+v", d)
		}
	})
	t.Run("modal", func(t *testing.T) {
		i := interactionOf(t, ModalSubmit("I1", "tok", "A1", "G1", "C1", member, "reject:42", map[string]string{"reason": "flaky", "ticket": "OPS-1"}))
		d := i.ModalSubmitData()
		if i.Type != discordgo.InteractionModalSubmit || d.CustomID != "reject:42" || len(d.Components) != 2 {
			t.Fatalf("data = %+v", d)
		}
		in := d.Components[0].(*discordgo.ActionsRow).Components[0].(*discordgo.TextInput)
		if in.CustomID != "reason" || in.Value != "flaky" {
			t.Errorf("first input = %+v", in)
		}
	})
	t.Run("raw shape", func(t *testing.T) {
		var raw map[string]any
		if err := json.Unmarshal(Command("I1", "tok", "A1", "G1", "C1", member, "deliver"), &raw); err != nil {
			t.Fatal(err)
		}
		m := raw["member"].(map[string]any)
		if _, ok := m["permissions"].(string); !ok || m["user"].(map[string]any)["id"] != "U1" || raw["type"] != 2.0 {
			t.Errorf("payload = %v", raw)
		}
	})
}
