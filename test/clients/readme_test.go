package clients

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// block is a fenced code block of a Markdown file.
type block struct {
	// Lang is the first word of the fence's info string ("go", "sh").
	Lang string
	// Code is the block's text.
	Code string
	// Where is "file:line" of its opening fence.
	Where string
}

// runnable are the languages a README's blocks may be written in: each
// is executed (see TestClients); any other language fails the test, so
// that no block can escape.
var runnable = []string{"go", "python", "ts", "sh"}

// readBlocks returns the fenced code blocks of the Markdown file path; with
// a section heading (e.g. "## Clients") only those under it, up to the
// next heading of the same level.
func readBlocks(path, section string) ([]block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseBlocks(path, bufio.NewScanner(f), section)
}

var fence = regexp.MustCompile("^(```+|~~~+)\\s*([^\\s`]*)")

func parseBlocks(name string, sc *bufio.Scanner, section string) ([]block, error) {
	var (
		blocks  []block
		open    string // the opening fence, when inside a block
		cur     block
		code    strings.Builder
		inside  = section == ""
		level   = strings.IndexByte(section+" ", ' ') // "## Clients" is level 2
		seen    = section == ""
		lineNum int
	)
	for sc.Scan() {
		lineNum++
		line := sc.Text()
		if open != "" {
			if strings.HasPrefix(strings.TrimSpace(line), open) && strings.Trim(strings.TrimSpace(line), open[:1]) == "" {
				cur.Code = code.String()
				if inside {
					blocks = append(blocks, cur)
				}
				open = ""
				continue
			}
			code.WriteString(line + "\n")
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			open, cur = m[1], block{Lang: m[2], Where: fmt.Sprintf("%s:%d", name, lineNum)}
			code.Reset()
			continue
		}
		if section != "" && strings.HasPrefix(line, "#") {
			hashes := len(line) - len(strings.TrimLeft(line, "#"))
			switch {
			case strings.TrimSpace(line) == section:
				inside, seen = true, true
			case hashes <= level:
				inside = false
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if open != "" {
		return nil, fmt.Errorf("%s: a code block opened at %s is not closed", name, cur.Where)
	}
	if !seen {
		return nil, fmt.Errorf("%s: no section %q", name, section)
	}
	for _, b := range blocks {
		if !slices.Contains(runnable, b.Lang) {
			return nil, fmt.Errorf("%s: a %q code block: write it in one of %q, which the tests run", b.Where, b.Lang, runnable)
		}
	}
	return blocks, nil
}

// outputLine is an expected line of a snippet's output: "// Output: x" in
// Go and TypeScript, "# Output: x" in Python.
var outputLine = regexp.MustCompile(`(?m)^\s*(?://|#) Output: (.+)$`)

// checkOutput fails t unless out holds, as whole lines, the lines b's
// "Output:" comments promise.
func checkOutput(t *testing.T, b block, out string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for _, m := range outputLine.FindAllStringSubmatch(b.Code, -1) {
		want := strings.TrimSpace(m[1])
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == want }) {
			t.Errorf("%s: the output lacks the line %q it promises:\n%s", b.Where, want, out)
		}
	}
}

func TestParseBlocks(t *testing.T) {
	t.Parallel()
	const doc = "# Title\n\n```sh\necho top\n```\n\n## Clients\n\nText.\n\n```go\npackage main\n```\n\n" +
		"### Sub\n\n~~~python\nprint(1)\n~~~\n\n## Licence\n\n```sh\necho after\n```\n"
	parse := func(section string) ([]block, error) {
		return parseBlocks("doc.md", bufio.NewScanner(strings.NewReader(doc)), section)
	}
	all, err := parse("")
	if err != nil {
		t.Fatal(err)
	}
	var langs []string
	for _, b := range all {
		langs = append(langs, b.Lang)
	}
	if want := []string{"sh", "go", "python", "sh"}; !slices.Equal(langs, want) {
		t.Fatalf("languages %q, want %q", langs, want)
	}
	clients, err := parse("## Clients")
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) != 2 || clients[0].Code != "package main\n" || clients[1].Code != "print(1)\n" || clients[0].Where != "doc.md:11" {
		t.Fatalf("section blocks %+v", clients)
	}
	if _, err := parse("## Missing"); err == nil {
		t.Fatal("a missing section is not an error")
	}
	bad := "```ruby\nputs 1\n```\n"
	if _, err := parseBlocks("bad.md", bufio.NewScanner(strings.NewReader(bad)), ""); err == nil || !strings.Contains(err.Error(), "ruby") {
		t.Fatalf("a block no test runs: %v", err)
	}
	if _, err := parseBlocks("open.md", bufio.NewScanner(strings.NewReader("```go\nx\n")), ""); err == nil {
		t.Fatal("an unclosed block is not an error")
	}
}
