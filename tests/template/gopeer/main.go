// Command gotemplate is the differential-test peer for sealer/template/.
// It renders templates exactly as Bitnami's controller renders spec.template.data:
// text/template + Sprig's GenericFuncMap minus env, expandenv and getHostByName,
// executed against a map[string]string of the decrypted items.
//
// Protocol: one JSON object per stdin line, {"template": "...", "values": {...}};
// one JSON object per stdout line, {"output": "...", "output_b64": "..."} or
// {"error": "..."}. output_b64 carries the exact bytes: JSON would replace invalid UTF-8.
// The request {"list_funcs": true} is answered with {"funcs": [...]}: the names of the
// function map (text/template's builtins included), to catch drift in Sprig's function set.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

type request struct {
	Template  string            `json:"template"`
	Values    map[string]string `json:"values"`
	ListFuncs bool              `json:"list_funcs"`
}

type response struct {
	Output    *string  `json:"output,omitempty"`
	OutputB64 *string  `json:"output_b64,omitempty"`
	Error     *string  `json:"error,omitempty"`
	Funcs     []string `json:"funcs,omitempty"`
}

// builtins are text/template's own functions, which every template can call.
var builtins = []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print",
	"printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"}

var funcs = func() template.FuncMap {
	m := sprig.GenericFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	return m
}()

func render(req request) (out string, err error) {
	// A panicking Sprig function must not take the peer down with it.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	t, err := template.New("t").Funcs(funcs).Parse(req.Template)
	if err != nil {
		return "", err
	}
	data := req.Values
	if data == nil {
		data = map[string]string{}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var req request
		var resp response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			msg := "bad request: " + err.Error()
			resp.Error = &msg
		} else if req.ListFuncs {
			resp.Funcs = append(resp.Funcs, builtins...)
			for name := range funcs {
				resp.Funcs = append(resp.Funcs, name)
			}
		} else if s, err := render(req); err != nil {
			msg := err.Error()
			resp.Error = &msg
		} else {
			b64 := base64.StdEncoding.EncodeToString([]byte(s))
			resp.Output, resp.OutputB64 = &s, &b64
		}
		if err := enc.Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// Flush per line: the caller waits for each answer before sending the next.
		if err := out.Flush(); err != nil {
			os.Exit(1)
		}
	}
}
