package rpc

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/store"
)

// AuditActorAdmin is the actor recorded for calls made with the admin token.
const AuditActorAdmin = "admin-token"

// auditInterceptor records every admin-service write in the audit log. It
// runs inside the access guard, so the calls it sees are authorised and
// carry their principal; the guard reports refused calls (RecordRefusal).
type auditInterceptor struct {
	log    store.AuditLog
	logger *slog.Logger
	now    func() time.Time
}

// AuditInterceptor returns the interceptor that records every admin-service
// call that is not a read (Get*/List*) in the admin audit log, with a
// summary of the request from which every secret has been removed. It
// writes synchronously after the call; a failure to write is logged, since
// the change itself has been made.
func AuditInterceptor(audit store.AuditLog, logger *slog.Logger) connect.Interceptor {
	return auditInterceptor{log: audit, logger: logger, now: time.Now}
}

// isRead reports whether an admin method only reads.
func isRead(method string) bool {
	return strings.HasPrefix(method, "Get") || strings.HasPrefix(method, "List")
}

// WrapUnary implements connect.Interceptor.
func (a auditInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		method := methodName(req.Spec().Procedure)
		if req.Spec().IsClient || isRead(method) {
			return next(ctx, req)
		}
		at := a.now()
		res, err := next(ctx, req)
		e := auditEvent(method, req.Any(), err)
		e.Time, e.RequestID = at, gateway.RequestIDFrom(ctx)
		if res != nil && err == nil {
			if id := responseResourceID(res.Any()); id != "" {
				e.ResourceID = id // the generated id (CreateKey), never a name
			}
		}
		setActor(ctx, e)
		a.append(ctx, e)
		return res, err
	}
}

// append writes e; a failure to write is logged, since the call was made.
func (a auditInterceptor) append(ctx context.Context, e *store.AuditEvent) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if werr := a.log.AppendAuditEvent(wctx, e); werr != nil {
		a.logger.ErrorContext(ctx, "admin audit log write failed", "action", e.Action, "resource_id", e.ResourceID, "err", werr)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (a auditInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor. The admin services have
// no streaming writes.
func (a auditInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// methodName returns the method of a procedure "/pkg.Service/Method".
func methodName(procedure string) string {
	return procedure[strings.LastIndexByte(procedure, '/')+1:]
}

// auditEvent describes an admin call for the audit log.
func auditEvent(method string, msg any, err error) *store.AuditEvent {
	e := &store.AuditEvent{Actor: AuditActorAdmin, Action: method, ResourceKind: resourceKind(method), Outcome: "ok"}
	if err != nil {
		e.Outcome = connect.CodeOf(err).String()
	}
	if m, ok := msg.(proto.Message); ok {
		e.ResourceID = requestResourceID(e.ResourceKind, m.ProtoReflect())
		e.Summary = redactedJSON(m)
	}
	return e
}

// resourceKind turns "CreateGuardrailPolicy" into "guardrail_policy".
func resourceKind(method string) string {
	for _, verb := range []string{"Create", "Update", "Delete", "Revoke", "Rotate", "Set"} {
		if rest, ok := strings.CutPrefix(method, verb); ok && rest != "" {
			method = rest
			break
		}
	}
	var b strings.Builder
	for i, r := range method {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// resourceID returns the request's "id" or "name" field, or that of its
// first message field that has one.
func resourceID(m protoreflect.Message) string {
	if id := idField(m); id != "" {
		return id
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && m.Has(f) {
			if id := idField(m.Get(f).Message()); id != "" {
				return id
			}
		}
	}
	return ""
}

func idField(m protoreflect.Message) string {
	for _, name := range []protoreflect.Name{"id", "name"} {
		if f := m.Descriptor().Fields().ByName(name); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
			if v := m.Get(f).String(); v != "" {
				return v
			}
		}
	}
	return ""
}

// secretFields are the names of fields that hold secrets; they never reach
// the audit log. A webhook's URL is its receiver's secret.
var secretFields = map[protoreflect.Name]bool{
	"credential": true, "secret": true, "password": true, "api_key": true, "url": true, "token": true,
}

// secretWords are the words of a map key or configuration field name that
// say its value is a secret (or a URL, which may carry one).
var secretWords = map[string]bool{
	"key": true, "apikey": true, "secret": true, "secrets": true, "token": true, "tokens": true, "password": true, "passwd": true,
	"auth": true, "authorization": true, "credential": true, "credentials": true, "url": true, "uri": true, "webhook": true,
	"dsn": true, "cookie": true, "signature": true, "sig": true, "bearer": true, "private": true,
}

// isSecretKey reports whether a map key (a provider setting, a field of a
// guardrail's configuration) names a secret: one of its words, split at
// punctuation and case changes, is a secret word ("api_key", "X-Api-Key",
// "webhookURL"; not "keywords").
func isSecretKey(k string) bool {
	word := make([]rune, 0, len(k))
	flush := func() bool {
		w := strings.ToLower(string(word))
		word = word[:0]
		return secretWords[w]
	}
	prevLower := false
	for _, r := range k {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			if flush() {
				return true
			}
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			if flush() {
				return true
			}
		}
		word = append(word, r)
		prevLower = unicode.IsLower(r)
	}
	return flush()
}

// redactURL removes what a URL may carry of a secret: the userinfo's
// password and the values of query parameters with secret names. Text
// that is not an absolute URL is returned as is.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "[redacted]")
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if isSecretKey(k) || k == "sig" || k == "code" {
				q[k] = []string{"[redacted]"}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

// redactedJSON returns m as JSON with every secret field cleared,
// sensitive map entries and configuration fields replaced by
// "[redacted]", and credentials removed from URLs.
func redactedJSON(m proto.Message) string {
	c := proto.Clone(m)
	redact(c.ProtoReflect())
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c)
	if err != nil {
		return "{}"
	}
	return string(b)
}

func redact(m protoreflect.Message) {
	redacted := protoreflect.ValueOfString("[redacted]")
	if v, ok := m.Interface().(*structpb.Value); ok {
		if sv, ok := v.Kind.(*structpb.Value_StringValue); ok {
			sv.StringValue = redactURL(sv.StringValue)
		}
	}
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case secretFields[f.Name()]:
			if f.Kind() == protoreflect.StringKind && !f.IsList() {
				m.Set(f, redacted)
			} else {
				m.Clear(f)
			}
		case f.IsMap():
			mp := v.Map()
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				switch {
				case f.MapValue().Kind() == protoreflect.StringKind && isSecretKey(k.String()):
					mp.Set(k, redacted)
				case f.MapValue().Kind() == protoreflect.StringKind:
					mp.Set(k, protoreflect.ValueOfString(redactURL(mv.String())))
				case f.MapValue().Kind() == protoreflect.MessageKind && isSecretKey(k.String()):
					// A configuration field (google.protobuf.Struct) with a
					// secret name: replace its value whatever it holds.
					if sv, ok := mv.Message().Interface().(*structpb.Value); ok {
						sv.Kind = &structpb.Value_StringValue{StringValue: "[redacted]"}
					} else {
						redact(mv.Message())
					}
				case f.MapValue().Kind() == protoreflect.MessageKind:
					redact(mv.Message())
				}
				return true
			})
		case f.IsList() && f.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := range l.Len() {
				redact(l.Get(i).Message())
			}
		case f.IsList() && f.Kind() == protoreflect.StringKind:
			l := v.List()
			for i := range l.Len() {
				l.Set(i, protoreflect.ValueOfString(redactURL(l.Get(i).String())))
			}
		case f.Kind() == protoreflect.MessageKind:
			redact(v.Message())
		case f.Kind() == protoreflect.StringKind:
			if r := redactURL(v.String()); r != v.String() {
				m.Set(f, protoreflect.ValueOfString(r))
			}
		}
		return true
	})
}
