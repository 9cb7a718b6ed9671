package apischema

import "net/http"

// PassHeaders returns the headers of h named in allow, nil when there are
// none. Surfaces use it with their dialect's RequestHeaders allow-list.
func PassHeaders(h http.Header, allow []string) http.Header {
	var out http.Header
	for _, name := range allow {
		if vs := h.Values(name); len(vs) > 0 {
			if out == nil {
				out = make(http.Header, len(allow))
			}
			out[http.CanonicalHeaderKey(name)] = vs
		}
	}
	return out
}
