package main

import (
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/adapters/web"
	"github.com/shipgate/shipgate/config"
)

// serve --dev is for trying shipgate out on one machine (make run): it makes the tokens that shipgate
// itself hands out, and says how to use them.

// issuedTokenFiles are the files of the tokens shipgate hands out rather than receives from a platform:
// the web console's access token and the API's bearer tokens, resolved against the config's folder.
func issuedTokenFiles(cfg *config.Config) []string {
	var files []string
	if wc, ok := config.Platform[*web.Config](cfg, "web"); ok && wc.AccessTokenFile != "" {
		files = append(files, cfg.Path(wc.AccessTokenFile))
	}
	for _, t := range cfg.API.Tokens {
		if t.TokenFile != "" {
			files = append(files, cfg.Path(t.TokenFile))
		}
	}
	return files
}

// createTokenFiles writes a random token into each issued token file that the config at path names and
// that does not exist yet, and returns the files it wrote. The config is read here only for their names:
// what else is wrong with it is reported when serve loads it next.
func createTokenFiles(path string) ([]string, error) {
	cfg, _ := config.Load(path, nil)
	if cfg == nil {
		return nil, nil
	}
	var created []string
	for _, f := range issuedTokenFiles(cfg) {
		ok, err := ensureTokenFile(f)
		if err != nil {
			return created, err
		}
		if ok {
			created = append(created, f)
		}
	}
	return created, nil
}

// printDevHint says where shipgate serves, how to log in to the console and as whom, and how CI starts
// a delivery: with the first API token whose value shipgate has, of the first service of the first
// project that token may trigger.
func printDevHint(w io.Writer, cfg *config.Config, projects []*config.Project, addr net.Addr, created []string) {
	base := localURL(addr)
	names := make([]string, len(projects))
	for i, p := range projects {
		names[i] = p.Name
	}
	served := strings.Join(names, ", ")
	if served == "" {
		served = "no project"
	}
	wc, console := config.Platform[*web.Config](cfg, "web")
	switch {
	case console:
		fmt.Fprintf(w, "shipgate serves %s: open %s\n\n", served, base)
		if wc.AccessToken.IsSet() {
			fmt.Fprintf(w, "  Log in to the console with the access token %s and one of the ids its roles name:\n    %s\n",
				wc.AccessToken.Reveal(), webRoleHolders(cfg))
			fmt.Fprintf(w, "  Approvals are decided there, by the ids that hold the role they ask for.\n")
		} else {
			fmt.Fprintf(w, "  The console is read-only: set web.access_token_file to act in it.\n")
		}
	default:
		fmt.Fprintf(w, "shipgate serves %s at %s\n\n  No web console: add a web section and a channel with platform: web.\n", served, base)
	}
	fmt.Fprintln(w)
	if t, req, ok := sampleDelivery(cfg, projects); ok {
		file := ""
		if t.TokenFile != "" {
			file = cfg.Path(t.TokenFile)
		}
		printCIHint(w, base, t.Name, t.Token.Reveal(), file, req)
	} else {
		fmt.Fprintf(w, "  No API token that may trigger a project here: add one to api.tokens for CI.\n")
	}
	fmt.Fprintln(w)
	if len(created) > 0 {
		fmt.Fprintf(w, "  New tokens, made now: %s.\n", strings.Join(created, ", "))
	}
	fmt.Fprintf(w, "  Database: %s. Stop with Ctrl-C.\n", cfg.Database)
}

// localURL is how a browser or curl on this machine reaches addr: the loopback address when shipgate
// listens on every interface.
func localURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// webRoleHolders lists each id the web channels' roles name, with its roles: "ann (approver, auditor),
// dana (deployer)".
func webRoleHolders(cfg *config.Config) string {
	roles := map[string][]string{}
	for _, ch := range cfg.Channels {
		if ch.Platform != "web" {
			continue
		}
		for role, ids := range ch.Roles {
			for _, id := range ids {
				if !slices.Contains(roles[id], role) {
					roles[id] = append(roles[id], role)
				}
			}
		}
	}
	if len(roles) == 0 {
		return "(none: give people roles in a channel with platform: web)"
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(roles)) {
		slices.Sort(roles[id])
		out = append(out, fmt.Sprintf("%s (%s)", id, strings.Join(roles[id], ", ")))
	}
	return strings.Join(out, ", ")
}

// sampleDelivery picks what the hint's curl command delivers: with the first API token whose value
// shipgate has (a token_sha256 cannot be shown), the first service of the first loaded project it may
// trigger, with the tutorial's image.
func sampleDelivery(cfg *config.Config, projects []*config.Project) (config.APIToken, deliveryRequest, bool) {
	for _, t := range cfg.API.Tokens {
		if !t.Token.IsSet() {
			continue
		}
		for _, p := range projects {
			if len(p.Services) > 0 && (slices.Contains(t.Projects, "*") || slices.Contains(t.Projects, p.Name)) {
				return t, deliveryRequest{Project: p.Name, Service: p.Services[0], Image: tutorialImage}, true
			}
		}
	}
	return config.APIToken{}, deliveryRequest{}, false
}
