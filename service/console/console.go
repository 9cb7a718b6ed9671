package console

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// dist is the built console (console/build.mjs writes it).
//
//go:embed all:dist
var dist embed.FS

// Prefix is the path the console is served under.
const Prefix = "/ui/"

// ContentSecurityPolicy is sent with every console response: everything
// from the gateway's origin, nothing inline, nothing framed.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the console under [Prefix].
type Handler struct {
	files map[string]*file // by path below Prefix, e.g. "assets/app-X.js"
	index *file
}

// file is one asset and its precompressed variants.
type file struct {
	ctype     string
	raw       []byte
	gz, br    []byte
	etag      string // quoted, of the raw bytes
	immutable bool
}

// ErrNotBuilt is returned by New when the embedded build holds no index.html.
var ErrNotBuilt = errors.New("console: the embedded build has no index.html (run make console)")

// New returns a handler of the embedded build.
func New() (*Handler, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	return NewFS(sub)
}

// NewFS returns a handler of a console build in fsys (index.html at its
// root, assets below assets/), for tests.
func NewFS(fsys fs.FS) (*Handler, error) {
	h := &Handler{files: map[string]*file{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".br") || path.Base(name) == ".gitkeep" {
			return nil
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f := &file{raw: raw, immutable: strings.HasPrefix(name, "assets/")}
		f.ctype = mime.TypeByExtension(path.Ext(name))
		if f.ctype == "" {
			f.ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(raw)
		f.etag = strconv.Quote(base64.RawURLEncoding.EncodeToString(sum[:16]))
		if f.gz, err = readOptional(fsys, name+".gz"); err != nil {
			return err
		}
		if f.br, err = readOptional(fsys, name+".br"); err != nil {
			return err
		}
		h.files[name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if h.index = h.files["index.html"]; h.index == nil {
		return nil, ErrNotBuilt
	}
	return h, nil
}

func readOptional(fsys fs.FS, name string) ([]byte, error) {
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Mount registers the console on mux: [Prefix] and everything below it,
// and a redirect from the prefix without its slash.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.Handle(Prefix, h)
	mux.Handle(strings.TrimSuffix(Prefix, "/"), http.RedirectHandler(Prefix, http.StatusMovedPermanently))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	setSecurityHeaders(hdr)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	f := h.index
	if strings.HasPrefix(name, "assets/") {
		// Assets are content-addressed: an unknown name is a 404, never
		// the page (a stale page asking for an old asset must fail loudly).
		if f = h.files[name]; f == nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
	} else if g := h.files[name]; g != nil && name != "" {
		f = g
	}
	if f.immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	hdr.Set("Content-Type", f.ctype)
	hdr.Add("Vary", "Accept-Encoding")
	body, enc := f.raw, ""
	switch {
	case f.br != nil && accepts(r.Header.Get("Accept-Encoding"), "br"):
		body, enc = f.br, "br"
	case f.gz != nil && accepts(r.Header.Get("Accept-Encoding"), "gzip"):
		body, enc = f.gz, "gzip"
	}
	etag := f.etag
	if enc != "" {
		hdr.Set("Content-Encoding", enc)
		etag = etag[:len(etag)-1] + "-" + enc + `"`
	}
	hdr.Set("ETag", etag)
	if matchesETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

// accepts reports whether an Accept-Encoding header value allows coding
// (named with a q-value above 0, or covered by "*").
func accepts(header, coding string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && name != "*" {
			continue
		}
		ok := true
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q <= 0 {
					ok = false
				}
			}
		}
		if name == coding {
			return ok
		}
		star = ok
	}
	return star
}

// matchesETag reports whether an If-None-Match value names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func matchesETag(header, etag string) bool {
	if header == "" {
		return false
	}
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == "*" || part == etag {
			return true
		}
	}
	return false
}
