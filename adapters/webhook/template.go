package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/shipgate/shipgate/engine"
)

// checkFuncs are the template functions for validation: parsing needs their names and signatures, and
// nothing is rendered, so no secret is read.
var checkFuncs = template.FuncMap{
	"secret": func(string) (string, error) { return "", nil },
	"json":   toJSON,
}

// toJSON is the json template function: {{json .Image}} writes a quoted, escaped JSON string, and any
// other value its JSON encoding. HTML characters are left alone; the output goes to an HTTP body, not
// a web page.
func toJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// secretNames lists the names that {{secret "name"}} calls in tmpl spell out as literals, so that
// validation can check them against the configured secrets. A name computed at render time is checked
// only then.
func secretNames(tmpl *template.Template) []string {
	var names []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(&n.BranchNode)
		case *parse.RangeNode:
			walk(&n.BranchNode)
		case *parse.WithNode:
			walk(&n.BranchNode)
		case *parse.BranchNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "secret" {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						names = append(names, s.Text)
					}
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		}
	}
	for _, t := range tmpl.Templates() {
		if t.Tree != nil {
			walk(t.Tree.Root)
		}
	}
	return names
}

// renderer renders one task's templates. It reads secrets when a template first asks for them and hands
// every value it read to the redactor, so that whatever leaves the executor can be cleaned of it.
type renderer struct {
	sources   map[string]secretSource
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
	redact    *redactor
	values    map[string]string
}

// funcs are the template functions of a task's settings.
func (r *renderer) funcs() template.FuncMap {
	return template.FuncMap{"secret": r.secret, "json": toJSON}
}

// secret is the secret template function. Its errors say where the value should have come from, never
// what it is.
func (r *renderer) secret(name string) (string, error) {
	if v, ok := r.values[name]; ok {
		return v, nil
	}
	src, ok := r.sources[name]
	if !ok {
		return "", fmt.Errorf("secret %q is not configured under secrets", name)
	}
	var v string
	switch {
	case src.Env != "":
		env, ok := r.lookupEnv(src.Env)
		if !ok {
			return "", fmt.Errorf("secret %q: environment variable %s is not set", name, src.Env)
		}
		v = env
	case src.File != "":
		b, err := r.readFile(src.File)
		if err != nil {
			return "", fmt.Errorf("secret %q: %w", name, err)
		}
		// Files written by editors and `echo` end in a newline that is not part of the token.
		v = string(b)
		if t, ok := strings.CutSuffix(v, "\r\n"); ok {
			v = t
		} else {
			v = strings.TrimSuffix(v, "\n")
		}
	}
	if v == "" {
		return "", fmt.Errorf("secret %q is empty", name)
	}
	if r.values == nil {
		r.values = map[string]string{}
	}
	r.values[name] = v
	r.redact.add(v)
	return v, nil
}

// render executes a template over data. The error names the setting and is redacted, as a template
// error can quote what was being rendered.
func (r *renderer) render(tmpl *template.Template, data any) (string, error) {
	out, err := engine.Render(tmpl, data)
	if err != nil {
		return "", r.redact.error(err)
	}
	return out, nil
}

// pollData is what the poll URL and headers see: the task, plus the first call's answer.
type pollData struct {
	engine.TemplateData
	// Response is the first call's response decoded from JSON, nil when it was not JSON.
	Response any
}
