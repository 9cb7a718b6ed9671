package app

import (
	"flag"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// This file holds the get, update and delete commands of the catalog
// (providers, models, routes) and teams. Updates send an update mask naming
// exactly the fields whose flags were given, so that what they do not
// mention stays as it is, and --etag makes a write apply only to the
// version the etag came from (printed by get, list --json and every write).

// catalogCommand registers the flags of a get, update or delete command
// on fs and returns its request builder, or nil when name is not one.
func catalogCommand(name string, fs *flag.FlagSet, getenv func(string) string) func([]string) (proto.Message, error) {
	switch name {
	case "providers get":
		return idOperand(fs, "PROVIDER_ID", func(id string) proto.Message { return &tollgatev1.GetProviderRequest{Id: id} })
	case "providers update":
		return providersUpdate(fs, getenv)
	case "providers delete":
		return deleteCommand(fs, "PROVIDER_ID", func(id, etag string) proto.Message {
			return &tollgatev1.DeleteProviderRequest{Id: id, Etag: etag}
		})
	case "models get":
		return idOperand(fs, "NAME", func(n string) proto.Message { return &tollgatev1.GetModelRequest{Name: n} })
	case "models update":
		return modelsUpdate(fs)
	case "models delete":
		return deleteCommand(fs, "NAME", func(n, etag string) proto.Message { return &tollgatev1.DeleteModelRequest{Name: n, Etag: etag} })
	case "teams get":
		return idOperand(fs, "TEAM_ID", func(id string) proto.Message { return &tollgatev1.GetTeamRequest{Id: id} })
	case "routes update":
		return routesUpdate(fs)
	}
	return nil
}

// deleteCommand builds a delete request from the one ID operand (or --id)
// and --etag.
func deleteCommand(fs *flag.FlagSet, what string, req func(id, etag string) proto.Message) func([]string) (proto.Message, error) {
	var etag string
	fs.StringVar(&etag, "etag", "", "delete only if the resource still has this etag")
	return idOperand(fs, what, func(id string) proto.Message { return req(id, etag) })
}

// credentialFlags read a provider credential from the environment or a
// file, never from a flag's value.
type credentialFlags struct {
	env, file string
	none      bool
}

func (c *credentialFlags) register(fs *flag.FlagSet, withNone bool) {
	fs.StringVar(&c.env, "credential-env", "", "name of the environment variable holding the API key")
	fs.StringVar(&c.file, "credential-file", "", "file holding the API key (- for standard input)")
	if withNone {
		fs.BoolVar(&c.none, "no-credential", false, "remove the stored credential")
	}
}

// read returns the credential, "" when none was given.
func (c *credentialFlags) read(getenv func(string) string) (string, error) {
	given := 0
	for _, b := range []bool{c.env != "", c.file != "", c.none} {
		if b {
			given++
		}
	}
	if given > 1 {
		return "", usageErrorf("--credential-env, --credential-file and --no-credential exclude each other")
	}
	switch {
	case c.env != "":
		cred := getenv(c.env)
		if cred == "" {
			return "", usageErrorf("--credential-env: $%s is empty", c.env)
		}
		return cred, nil
	case c.file != "":
		b, err := readCredential(c.file)
		if err != nil {
			return "", fmt.Errorf("--credential-file: %w", err)
		}
		cred := strings.TrimSpace(string(b))
		if cred == "" {
			return "", usageErrorf("--credential-file %s is empty", c.file)
		}
		return cred, nil
	}
	return "", nil
}

func providersUpdate(fs *flag.FlagSet, getenv func(string) string) func([]string) (proto.Message, error) {
	var baseURL, etag string
	var cred credentialFlags
	settings := mapFlag{}
	fs.StringVar(&baseURL, "base-url", "", "the API base URL (\"\" for the type's default)")
	fs.Var(settings, "setting", "a dialect setting k=v (repeatable; replaces all settings)")
	cred.register(fs, true)
	fs.StringVar(&etag, "etag", "", "update only if the provider still has this etag")
	return func(ops []string) (proto.Message, error) {
		id, err := oneOperand(ops, "PROVIDER_ID")
		if err != nil {
			return nil, err
		}
		mask := updateMask(fs, map[string]string{
			"base-url": "base_url", "setting": "settings",
			"credential-env": "credential", "credential-file": "credential", "no-credential": "credential",
		})
		if len(mask.GetPaths()) == 0 {
			return nil, usageErrorf("nothing to update: give --base-url, --setting, --credential-env, --credential-file or --no-credential")
		}
		c, err := cred.read(getenv)
		if err != nil {
			return nil, err
		}
		return &tollgatev1.UpdateProviderRequest{
			Provider:   &tollgatev1.Provider{Id: id, BaseUrl: baseURL, Settings: settings.orNil(), Etag: etag},
			Credential: c, UpdateMask: mask,
		}, nil
	}
}

func modelsUpdate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var mf modelFlags
	var etag string
	mf.register(fs, false)
	fs.StringVar(&etag, "etag", "", "update only if the model still has this etag")
	return func(ops []string) (proto.Message, error) {
		name, err := oneOperand(ops, "NAME")
		if err != nil {
			return nil, err
		}
		mask := updateMask(fs, modelMask)
		if len(mask.GetPaths()) == 0 {
			return nil, usageErrorf("nothing to update: give the flags of the fields to change (tollgate models -h)")
		}
		m, err := mf.model(name)
		if err != nil {
			return nil, err
		}
		if m.Pricing == nil {
			m.Pricing = &tollgatev1.ModelPricing{}
		}
		m.Etag = etag
		return &tollgatev1.UpdateModelRequest{Model: m, UpdateMask: mask}, nil
	}
}

// routesUpdate changes a route: with --file, the file's route replaces the
// whole definition (flags override it); otherwise only the fields whose
// flags are given change.
func routesUpdate(fs *flag.FlagSet) func([]string) (proto.Message, error) {
	var rf routeFlags
	var etag string
	rf.register(fs)
	fs.StringVar(&etag, "etag", "", "update only if the route still has this etag")
	return func(ops []string) (proto.Message, error) {
		r, err := rf.route(ops)
		if err != nil {
			return nil, err
		}
		req := &tollgatev1.UpdateRouteRequest{Route: r}
		if rf.file == "" {
			req.UpdateMask = updateMask(fs, map[string]string{
				"strategy": "strategy", "target": "targets", "timeout": "timeout", "sticky": "sticky",
				"drop-params": "drop_params",
			})
			if len(req.UpdateMask.GetPaths()) == 0 {
				return nil, usageErrorf("nothing to update: give --file, --strategy, --target, --timeout, --sticky or --drop-params")
			}
		} else if rf.strategy == "" && r.GetStrategy() == tollgatev1.RouteStrategy_ROUTE_STRATEGY_UNSPECIFIED {
			r.Strategy = tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK
		}
		if etag != "" {
			r.Etag = etag
		}
		return req, nil
	}
}
