package console_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tollgate-dev/tollgate/service/console"
)

func testFS() fstest.MapFS {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte("console.log(1)"))
	_ = w.Close()
	return fstest.MapFS{
		"index.html":           {Data: []byte(`<!doctype html><script type="module" src="/ui/assets/app-abc.js"></script>`)},
		"index.html.br":        {Data: []byte("brotli-index")},
		"assets/app-abc.js":    {Data: []byte("console.log(1)")},
		"assets/app-abc.js.gz": {Data: gz.Bytes()},
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h, err := console.NewFS(testFS())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	tests := []struct {
		name, method, path, acceptEncoding string
		status                             int
		body, encoding, cache, ctype       string
	}{
		{name: "page", path: "/ui/", status: 200, body: "<!doctype", cache: "no-cache", ctype: "text/html"},
		{name: "page for a deep link", path: "/ui/keys", status: 200, body: "<!doctype", cache: "no-cache", ctype: "text/html"},
		{name: "page brotli", path: "/ui/requests", acceptEncoding: "gzip, br", status: 200, body: "brotli-index", encoding: "br", cache: "no-cache"},
		{name: "brotli refused", path: "/ui/", acceptEncoding: "br;q=0, gzip", status: 200, body: "<!doctype", cache: "no-cache"},
		{name: "asset", path: "/ui/assets/app-abc.js", status: 200, body: "console.log(1)", cache: "public, max-age=31536000, immutable", ctype: "javascript"},
		{name: "asset gzip", path: "/ui/assets/app-abc.js", acceptEncoding: "gzip", status: 200, encoding: "gzip", cache: "public, max-age=31536000, immutable"},
		{name: "asset any coding", path: "/ui/assets/app-abc.js", acceptEncoding: "*", status: 200, encoding: "gzip"},
		{name: "unknown asset", path: "/ui/assets/app-old.js", status: 404},
		{name: "write refused", method: http.MethodPost, path: "/ui/", status: 405},
		{name: "head", method: http.MethodHead, path: "/ui/", status: 200, cache: "no-cache"},
		{name: "no slash", path: "/ui", status: 301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, tt.path, nil)
			if tt.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEncoding)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status == 301 {
				if loc := res.Header.Get("Location"); loc != "/ui/" {
					t.Fatalf("Location %q", loc)
				}
				return
			}
			if got := res.Header.Get("Content-Security-Policy"); got != console.ContentSecurityPolicy {
				t.Errorf("CSP %q", got)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if tt.status != 200 {
				return
			}
			if got := res.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if tt.cache != "" && res.Header.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tt.cache)
			}
			if !strings.Contains(res.Header.Get("Content-Type"), tt.ctype) {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
			}
			if res.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", res.Header.Get("Vary"))
			}
			body, _ := io.ReadAll(res.Body)
			if tt.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(zr)
				if string(body) != "console.log(1)" {
					t.Errorf("gunzipped body %q", body)
				}
			}
			if method == http.MethodHead && len(body) != 0 {
				t.Errorf("HEAD answered a body")
			}
			if tt.body != "" && !strings.HasPrefix(string(body), tt.body) {
				t.Errorf("body %q, want it to start with %q", body, tt.body)
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	t.Parallel()
	h, err := console.NewFS(testFS())
	if err != nil {
		t.Fatal(err)
	}
	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest(http.MethodGet, "/ui/assets/app-abc.js", nil))
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := httptest.NewRequest(http.MethodGet, "/ui/assets/app-abc.js", nil)
	again.Header.Set("If-None-Match", "W/"+etag)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, again)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("status %d with %d bytes, want 304 and none", rec.Code, rec.Body.Len())
	}
	// The gzip variant has its own tag: a cached identity body must not
	// satisfy a request that gets gzip, or the other way round.
	gz := httptest.NewRequest(http.MethodGet, "/ui/assets/app-abc.js", nil)
	gz.Header.Set("Accept-Encoding", "gzip")
	gz.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, gz)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
		t.Fatalf("gzip variant: status %d, ETag %q (identity %q)", rec.Code, rec.Header().Get("ETag"), etag)
	}
}

func TestNotBuilt(t *testing.T) {
	t.Parallel()
	if _, err := console.NewFS(fstest.MapFS{"assets/x.js": {Data: []byte("x")}}); err != console.ErrNotBuilt {
		t.Fatalf("err %v, want ErrNotBuilt", err)
	}
}

// TestEmbeddedBuild checks the build the binary carries: the page names
// assets that exist, holds no inline script or style, and every file has
// both precompressed variants.
func TestEmbeddedBuild(t *testing.T) {
	t.Parallel()
	h, err := console.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/", nil))
	page := rec.Body.String()
	if regexp.MustCompile(`<script(?:\s+type="module")?>|<style|\sstyle=|\son[a-z]+=`).MatchString(page) {
		t.Errorf("index.html holds inline script or style:\n%s", page)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/ui/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names %d assets, want a script, a stylesheet and an icon:\n%s", len(refs), page)
	}
	for _, ref := range refs {
		for _, enc := range []string{"", "gzip", "br"} {
			req := httptest.NewRequest(http.MethodGet, ref[1], nil)
			req.Header.Set("Accept-Encoding", enc)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || rec.Header().Get("Content-Encoding") != enc {
				t.Errorf("%s with %q: status %d, encoding %q", ref[1], enc, rec.Code, rec.Header().Get("Content-Encoding"))
			}
		}
	}
}
