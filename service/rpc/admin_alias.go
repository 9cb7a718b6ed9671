package rpc

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// LegacyAdminService is the name of the single administration service that
// CatalogService, TeamService and PolicyService replaced. Its procedure paths
// stay served as deprecated aliases so that scripts written against it keep
// working until v1.
const LegacyAdminService = "tollgate.v1.AdminService"

// adminServices are the services that together make up the administration API.
func adminServices() []protoreflect.ServiceDescriptor {
	return []protoreflect.ServiceDescriptor{
		tollgatev1.File_tollgate_v1_catalog_proto.Services().ByName("CatalogService"),
		tollgatev1.File_tollgate_v1_teams_proto.Services().ByName("TeamService"),
		tollgatev1.File_tollgate_v1_policy_proto.Services().ByName("PolicyService"),
	}
}

// legacyAdminPaths maps every method name of the administration services to
// its procedure path ("/tollgate.v1.CatalogService/CreateProvider"). Method
// names are unique across the three services.
func legacyAdminPaths() map[string]string {
	paths := make(map[string]string)
	for _, sd := range adminServices() {
		methods := sd.Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			paths[string(m.Name())] = "/" + string(sd.FullName()) + "/" + string(m.Name())
		}
	}
	return paths
}

// mountLegacyAdmin serves "/tollgate.v1.AdminService/Method" by rewriting the
// path to the service that now holds Method and dispatching through mux, so
// the call gets the same interceptors, authorisation and codecs (Connect,
// gRPC and gRPC-Web alike). Responses carry "Deprecation: true" (RFC 9745)
// and a Link to the successor procedure.
func mountLegacyAdmin(mux *http.ServeMux) {
	paths := legacyAdminPaths()
	prefix := "/" + LegacyAdminService + "/"
	mux.HandleFunc(prefix, func(w http.ResponseWriter, r *http.Request) {
		target, ok := paths[strings.TrimPrefix(r.URL.Path, prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Deprecation", "true")
		w.Header().Set("Link", "<"+target+`>; rel="successor-version"`)
		r2 := r.Clone(r.Context())
		r2.URL.Path = target
		r2.URL.RawPath = ""
		r2.RequestURI = target
		mux.ServeHTTP(w, r2)
	})
}
