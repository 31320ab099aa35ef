// pulumi-resource-command: a stand-in for the pulumi-command provider, for the end-to-end test tier only.
//
// The Go module proxy serves no version of github.com/pulumi/pulumi-command/provider, so the real
// provider cannot be built here. This plugin implements the part of its interface that the
// project uses, with the documented behaviour of pulumi-command 1.x:
//
//   - resource command:local:Command: create / update / delete run through `interpreter`
//     (default /bin/sh -c) in `dir` (default: the provider's working directory) with the
//     provider's environment plus `environment`, `stdin` on standard input. `update` defaults
//     to `create`. Update and delete see PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR from the
//     previous run unless addPreviousOutputInEnv is false. stdout and stderr (one trailing newline
//     trimmed) are outputs. A change of `triggers` replaces the resource, any other input change
//     updates it. A failed command fails the step with its combined output. `logging`
//     (stdout, stderr, stdoutAndStderr (default), none) streams lines as status messages.
//     Any secret input makes stdout and stderr secret.
//   - function command:local:run: runs `command` once, returns the inputs plus stdout / stderr.
//
// Not implemented (they fail loudly): assetPaths / archivePaths, and every command:remote:* token.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is set at build time: -ldflags "-X main.Version=1.2.1".
var Version = "0.0.0-dev"

const (
	commandType = "command:local:Command"
	runToken    = "command:local:run"
)

// Inputs of command:local:Command (and of command:local:run, which has `command` instead of the three verbs).
var commandInputs = []string{
	"create", "update", "delete", "dir", "environment", "interpreter", "stdin", "triggers",
	"addPreviousOutputInEnv", "logging", "assetPaths", "archivePaths",
}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient
}

func main() {
	err := provider.Main("command", func(h *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{host: h}, nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, opts)
	if m == nil {
		m = resource.PropertyMap{}
	}
	return m, err
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, opts)
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	str := func(d string) map[string]any { return map[string]any{"type": "string", "description": d} }
	props := map[string]any{
		"create": str("Command run on create."), "update": str("Command run on update (default: create)."),
		"delete": str("Command run on delete."), "dir": str("Working directory."), "stdin": str("Standard input."),
		"logging":                str("stdout, stderr, stdoutAndStderr or none."),
		"environment":            map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
		"interpreter":            map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"triggers":               map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true},
		"addPreviousOutputInEnv": map[string]any{"type": "boolean"},
	}
	outs := map[string]any{"stdout": str("Standard output."), "stderr": str("Standard error.")}
	for k, v := range props {
		outs[k] = v
	}
	spec := map[string]any{
		"name": "command", "version": Version,
		"description": "Stand-in for pulumi-command (end-to-end tests): local:Command and local:run only.",
		"resources": map[string]any{commandType: map[string]any{
			"inputProperties": props, "properties": outs, "required": []string{"stdout", "stderr"},
		}},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func checkType(urn string) error {
	if t := string(resource.URN(urn).Type()); t != commandType {
		return fmt.Errorf("resource type %q is not implemented by this stand-in command provider (only %s)", t, commandType)
	}
	return nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, k := range []resource.PropertyKey{"assetPaths", "archivePaths"} {
		if v, ok := news[k]; ok && !v.IsNull() {
			failures = append(failures, &pulumirpc.CheckFailure{Property: string(k),
				Reason: "not supported by the stand-in command provider"})
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if req.GetOldInputs() == nil {
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var diffs, replaces []string
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for _, k := range commandInputs {
		o, n := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		if o.IsNull() && n.IsNull() {
			continue
		}
		if !n.ContainsUnknowns() && o.DeepEquals(n) {
			continue
		}
		diffs = append(diffs, k)
		kind := pulumirpc.PropertyDiff_UPDATE
		if o.IsNull() {
			kind = pulumirpc.PropertyDiff_ADD
		} else if n.IsNull() {
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if k == "triggers" {
			replaces = append(replaces, k)
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD
		}
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{
		Changes: changes, Diffs: diffs, Replaces: replaces, DetailedDiff: detailed, HasDetailedDiff: true,
	}, nil
}

// outputs returns the inputs plus stdout and stderr; secret inputs make stdout/stderr secret.
func outputs(ins resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out := ins.Copy()
	secret := false
	for _, v := range ins {
		if v.ContainsSecrets() {
			secret = true
		}
	}
	if secret {
		stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
	}
	out["stdout"], out["stderr"] = stdout, stderr
	return out
}

func unknown() resource.PropertyValue { return resource.MakeComputed(resource.NewProperty("")) }

func (s *server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	ins, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, err := resource.NewUniqueHex(string(resource.URN(req.GetUrn()).Name()), 8, 0)
	if err != nil {
		return nil, err
	}
	var out resource.PropertyMap
	switch cmd := str(ins, "create"); {
	case req.GetPreview():
		out = outputs(ins, unknown(), unknown())
	case cmd == "":
		out = outputs(ins, resource.NewProperty(""), resource.NewProperty(""))
	default:
		so, se, err := s.run(ctx, resource.URN(req.GetUrn()), cmd, ins, nil)
		if err != nil {
			return nil, err
		}
		out = outputs(ins, resource.NewProperty(so), resource.NewProperty(se))
	}
	st, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: st}, nil
}

func (s *server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	cmd := str(news, "update")
	if cmd == "" {
		cmd = str(news, "create")
	}
	var out resource.PropertyMap
	switch {
	case cmd == "":
		out = outputs(news, olds["stdout"], olds["stderr"])
	case req.GetPreview():
		out = outputs(news, unknown(), unknown())
	default:
		so, se, err := s.run(ctx, resource.URN(req.GetUrn()), cmd, news, olds)
		if err != nil {
			return nil, err
		}
		out = outputs(news, resource.NewProperty(so), resource.NewProperty(se))
	}
	st, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: st}, nil
}

func (s *server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if cmd := str(props, "delete"); cmd != "" {
		if _, _, err := s.run(ctx, resource.URN(req.GetUrn()), cmd, props, props); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (s *server) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != runToken {
		return nil, fmt.Errorf("function %q is not implemented by this stand-in command provider (only %s)",
			req.GetTok(), runToken)
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	so, se, err := s.run(ctx, "", str(args, "command"), args, nil)
	if err != nil {
		return nil, err
	}
	ret, err := marshal(outputs(args, resource.NewProperty(so), resource.NewProperty(se)))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// str reads a string input, looking through secrets; "" when absent, null or unknown.
func str(m resource.PropertyMap, k string) string {
	v := m[resource.PropertyKey(k)]
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// run executes one command as pulumi-command's local provider does.
func (s *server) run(ctx context.Context, urn resource.URN, command string, in, prev resource.PropertyMap) (string, string, error) {
	args := []string{"/bin/sh", "-c"}
	if v := plain(in["interpreter"]); v.IsArray() && len(v.ArrayValue()) > 0 {
		args = nil
		for _, e := range v.ArrayValue() {
			if e = plain(e); !e.IsString() {
				return "", "", fmt.Errorf("interpreter entries must be strings")
			}
			args = append(args, e.StringValue())
		}
	}
	args = append(args, command)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if dir := str(in, "dir"); dir != "" {
		cmd.Dir = dir
	}
	cmd.Env = os.Environ()
	if env := plain(in["environment"]); env.IsObject() {
		keys := env.ObjectValue().StableKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, k := range keys {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", k, str(env.ObjectValue(), string(k))))
		}
	}
	if add := plain(in["addPreviousOutputInEnv"]); prev != nil && (!add.IsBool() || add.BoolValue()) {
		if so := str(prev, "stdout"); so != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+so)
		}
		if se := str(prev, "stderr"); se != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDERR="+se)
		}
	}
	if stdin := str(in, "stdin"); stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	logging := str(in, "logging")
	if logging == "" {
		logging = "stdoutAndStderr"
	}
	var stdout, stderr, both bytes.Buffer
	var mu sync.Mutex
	var wg sync.WaitGroup
	var closers []*io.PipeWriter
	pipe := func(buf *bytes.Buffer, log bool) io.Writer {
		r, w := io.Pipe()
		closers = append(closers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
			for sc.Scan() {
				line := sc.Text()
				mu.Lock()
				both.WriteString(line + "\n")
				mu.Unlock()
				if log && s.host != nil {
					_ = s.host.LogStatus(ctx, diag.Info, urn, line)
				}
			}
			_, _ = io.Copy(io.Discard, r)
		}()
		return io.MultiWriter(buf, w)
	}
	outW := pipe(&stdout, logging == "stdout" || logging == "stdoutAndStderr")
	errW := pipe(&stderr, logging == "stderr" || logging == "stdoutAndStderr")
	cmd.Stdout, cmd.Stderr = outW, errW
	err := cmd.Run()
	for _, w := range closers {
		_ = w.Close()
	}
	wg.Wait()
	if err != nil {
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, command, both.String())
	}
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}
