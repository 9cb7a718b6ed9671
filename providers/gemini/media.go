package gemini

import (
	"encoding/base64"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
)

// imageMIMETypes are the image types Gemini accepts, by extension; other
// extensions fall back to the system table, then to "image/*".
var imageMIMETypes = map[string]string{
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".webp": "image/webp",
	".heic": "image/heic",
	".heif": "image/heif",
	".gif":  "image/gif",
}

// imagePart translates an image: inline bytes and data: URLs become
// inlineData, other URLs fileData with a MIME type guessed from the path.
func (p *Provider) imagePart(img *providers.Image) (schema.Part, error) {
	switch {
	case img == nil:
		return schema.Part{}, p.invalid("image part without image")
	case len(img.Data) > 0:
		mt := img.MIMEType
		if mt == "" {
			mt = http.DetectContentType(img.Data)
		}
		return schema.Part{InlineData: &schema.Blob{MIMEType: mt, Data: base64.StdEncoding.EncodeToString(img.Data)}}, nil
	case strings.HasPrefix(img.URL, "data:"):
		mt, data, err := parseDataURL(img.URL)
		if err != nil {
			return schema.Part{}, p.invalid("image data URL: %v", err)
		}
		if mt == "" {
			mt = img.MIMEType
		}
		if mt == "" {
			mt = http.DetectContentType(data)
		}
		return schema.Part{InlineData: &schema.Blob{MIMEType: mt, Data: base64.StdEncoding.EncodeToString(data)}}, nil
	case img.URL != "":
		mt := img.MIMEType
		if mt == "" {
			mt = guessMIMEType(img.URL)
		}
		return schema.Part{FileData: &schema.FileData{MIMEType: mt, FileURI: img.URL}}, nil
	}
	return schema.Part{}, p.invalid("image has neither URL nor data")
}

// errDataURL reports a malformed data: URL.
type errDataURL string

// Error implements error.
func (e errDataURL) Error() string { return string(e) }

// parseDataURL decodes "data:[<mediatype>][;base64],<data>" (RFC 2397).
// The media type is returned without parameters.
func parseDataURL(s string) (mediaType string, data []byte, err error) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return "", nil, errDataURL("not a data: URL")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return "", nil, errDataURL("data: URL without comma")
	}
	isBase64 := false
	if m, ok := strings.CutSuffix(meta, ";base64"); ok {
		meta, isBase64 = m, true
	}
	if meta != "" {
		if mt, _, perr := mime.ParseMediaType(meta); perr == nil {
			mediaType = mt
		} else {
			mediaType, _, _ = strings.Cut(meta, ";")
		}
	}
	if isBase64 {
		payload = strings.TrimRight(payload, "=")
		data, err = base64.RawStdEncoding.DecodeString(payload)
		if err != nil {
			// Some clients send URL-safe base64.
			data, err = base64.RawURLEncoding.DecodeString(payload)
		}
		if err != nil {
			return "", nil, errDataURL("data: URL payload is not base64")
		}
		return mediaType, data, nil
	}
	text, uerr := url.PathUnescape(payload)
	if uerr != nil {
		return "", nil, errDataURL("data: URL payload is not percent-encoded")
	}
	return mediaType, []byte(text), nil
}

// guessMIMEType guesses an image URL's type from its path extension.
func guessMIMEType(raw string) string {
	p := raw
	if u, err := url.Parse(raw); err == nil {
		p = u.Path
	}
	ext := strings.ToLower(path.Ext(p))
	if mt, ok := imageMIMETypes[ext]; ok {
		return mt
	}
	if ext != "" {
		if mt, _, err := mime.ParseMediaType(mime.TypeByExtension(ext)); err == nil && mt != "" {
			return mt
		}
	}
	return "image/*"
}

// filePart translates a document: inline base64 becomes inlineData, a URL
// or a Gemini file URI fileData, plain text a text part (headed by its
// title).
func (p *Provider) filePart(f *providers.File) (schema.Part, error) {
	mt := f.MIMEType
	if mt == "" {
		mt = "application/pdf"
	}
	switch {
	case f.Text != "":
		text := f.Text
		if f.Title != "" {
			text = f.Title + "\n\n" + text
		}
		return schema.Part{Text: text}, nil
	case f.Base64 != "":
		return schema.Part{InlineData: &schema.Blob{MIMEType: mt, Data: f.Base64}}, nil
	case f.URL != "":
		return schema.Part{FileData: &schema.FileData{MIMEType: mt, FileURI: f.URL}}, nil
	case f.FileID != "" && f.FileDialect == Dialect:
		return schema.Part{FileData: &schema.FileData{MIMEType: mt, FileURI: f.FileID}}, nil
	}
	return schema.Part{}, p.invalid("the document has no content Gemini can take")
}
