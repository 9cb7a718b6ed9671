package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testTS installs the npm tarball into a fresh npm project outside the
// repository, as the TypeScript README says (offline: the dependencies
// come from npm's cache, filled by `make client-deps`), compiles every
// TypeScript example of the READMEs against the installed package's
// declarations with the repository's pinned tsc, runs them against the
// gateway (the browser entry point's under a loader that refuses every
// Node.js built-in module), then runs the client's node:test suite with
// the installed package.
func (f *fixture) testTS(t *testing.T) {
	ctx := toolContext(t)
	tsc := filepath.Join(f.root, "clients", "ts", "node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Fatalf("clients/ts/node_modules is missing (%v): run 'make deps'", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "package.json"), `{"name": "hello-tollgate", "private": true, "type": "module"}`+"\n")
	env := append(f.snippetEnv(), "npm_config_offline=true", "npm_config_update_notifier=false",
		"npm_config_fund=false", "npm_config_audit=false")
	var examples []block
	for _, b := range f.readmeBlocks(t, "ts", "ts") {
		switch b.Lang {
		case "sh":
			runBlock(t, ctx, dir, env, b)
		case "ts":
			examples = append(examples, b)
			writeFile(t, filepath.Join(dir, "examples", fmt.Sprintf("example%02d.ts", len(examples))), b.Code)
		}
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "@tollgate", "client", "package.json"))
	if err != nil {
		t.Fatalf("the README's install step did not install @tollgate/client: %v", err)
	}
	if want := `"version": "` + f.art.Versions.NPM + `"`; !strings.Contains(string(pkg), want) {
		t.Fatalf("the installed package is not the built one (%s):\n%s", want, pkg)
	}
	// Strict, and checking the package's declarations too.
	writeFile(t, filepath.Join(dir, "tsconfig.json"), `{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "noEmitOnError": true, "outDir": "out", "rootDir": "examples",
    "types": ["node"], "typeRoots": [`+jsonString(filepath.Join(f.root, "clients", "ts", "node_modules", "@types"))+`]
  },
  "include": ["examples"]
}
`)
	run(t, command(ctx, dir, env, tsc, "-p", "tsconfig.json"))

	// The browser entry point, and what a bundler gets for the package
	// under the "browser" condition, load without Node.js modules.
	writeFile(t, filepath.Join(dir, "no-builtins.mjs"), noBuiltins)
	for _, args := range [][]string{
		{"--import", "./no-builtins.mjs", "--input-type=module", "-e", `await import("@tollgate/client/web")`},
		{"--import", "./no-builtins.mjs", "--conditions=browser", "--input-type=module", "-e", `await import("@tollgate/client")`},
	} {
		run(t, command(ctx, dir, env, "node", args...))
	}
	if _, err := runErr(t, command(ctx, dir, env, "node", "--import", "./no-builtins.mjs", "--input-type=module", "-e", `await import("@tollgate/client")`)); err == nil {
		t.Fatal("the Node.js entry point loads without Node.js modules: the loader check proves nothing")
	}
	browser := regexp.MustCompile(`from "@tollgate/client/web"`)
	for i, b := range examples {
		args := []string{filepath.Join("out", fmt.Sprintf("example%02d.js", i+1))}
		if browser.MatchString(b.Code) {
			args = append([]string{"--import", "./no-builtins.mjs"}, args...)
		}
		t.Logf("%s: running the TypeScript example", b.Where)
		out, err := runErr(t, command(ctx, dir, env, "node", args...))
		if err != nil {
			t.Fatalf("%s: %v", b.Where, err)
		}
		checkOutput(t, b, out)
	}

	// The client's own suite, with the installed package.
	s := f.suites["ts"]
	copyFile(t, filepath.Join(f.root, "clients", "ts", "test", "client.test.js"), filepath.Join(dir, "test", "client.test.js"))
	out := run(t, command(ctx, dir, append(env,
		"TOLLGATE_KEY="+s.key,
		"TOLLGATE_TEAM="+s.team,
		"TOLLGATE_CHAT_MODEL="+s.model,
	), "node", "--test", "--test-reporter=spec", "test/"))
	// The live tests skip themselves without a gateway: make sure none did.
	if m := regexp.MustCompile(`(?m)^ℹ skipped (\d+)`).FindStringSubmatch(out); m == nil || m[1] != "0" {
		t.Fatalf("the node suite skipped tests or printed no summary (%q)", m)
	}
	if m := regexp.MustCompile(`(?m)^ℹ pass (\d+)`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Fatal("the node suite passed no test")
	}
}

// noBuiltins is a Node.js module hook that makes importing any built-in
// module (node:http2, fs, ...) fail: code that loads under it runs in a
// browser as far as its imports go.
const noBuiltins = `import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(` + "`" + `
import { isBuiltin } from "node:module";
export async function resolve(specifier, context, next) {
  if (isBuiltin(specifier)) {
    throw new Error("the browser entry point imports the Node.js module " + specifier + " (from " + context.parentURL + ")");
  }
  return next(specifier, context);
}
` + "`" + `));
`

func jsonString(s string) string {
	return fmt.Sprintf("%q", s)
}
