package main

import (
	"slices"
	"testing"

	"github.com/shipgate/shipgate/adapters/chatfake/contract"
	"github.com/shipgate/shipgate/adapters/discord/discordfake"
	"github.com/shipgate/shipgate/adapters/slack/slackfake"
)

// The contract test of the end-to-end tests: every request body the fakes recorded is type-checked
// against the platform's published TypeScript types (@slack/web-api and @slack/types for Slack,
// discord-api-types v10 for Discord) with tsc --strict, failing with the file and its first error.

// checkDiscordContract checks what a fake Discord recorded: that it refused no body as malformed (50035),
// that each route in want was called, and that every body type-checks.
func checkDiscordContract(t *testing.T, fake *discordfake.Server, want ...string) {
	t.Helper()
	for _, c := range fake.Calls() {
		if c.Code == 50035 {
			t.Errorf("the fake refused a body Discord would refuse: %s %s: %s", c.Route, c.Path, c.Detail)
		}
	}
	checkContract(t, fake.ContractPayloads(), want)
}

// checkSlackContract is checkDiscordContract for Slack, with the answers the slash commands were given in
// the HTTP response.
func checkSlackContract(t *testing.T, fake *slackfake.Server, answers [][]byte, want ...string) {
	t.Helper()
	for _, c := range fake.Calls() {
		switch c.Error {
		case "invalid_blocks", "invalid_arguments", "invalid_form_data", "no_text", "msg_too_long", "invalid_payload":
			t.Errorf("the fake refused a body Slack would refuse: %s: %s %s", c.Method, c.Error, c.Detail)
		}
	}
	payloads := fake.ContractPayloads()
	for _, a := range answers {
		payloads = append(payloads, slackfake.SlashCommandResponse(a))
	}
	checkContract(t, payloads, want)
}

func checkContract(t *testing.T, payloads []contract.Payload, want []string) {
	t.Helper()
	for _, w := range want {
		if !slices.ContainsFunc(payloads, func(p contract.Payload) bool { return p.What == w }) {
			t.Errorf("no %s body was recorded: the contract check would prove nothing about it", w)
		}
	}
	contract.Check(t, payloads)
}
