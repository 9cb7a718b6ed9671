package server_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// TestReflection does with plain grpc-go what grpcurl does, so that make
// test covers what grpcurl needs (make test-long runs grpcurl itself, in
// TestLongGRPCURL and test/interop's recipes): it lists the services by
// gRPC server reflection, resolves InferenceService's file and every file
// it depends on into descriptors, and calls Chat with a request built from
// those descriptors alone.
func TestReflection(t *testing.T) {
	t.Parallel()
	e := start(t)
	conn, err := grpc.NewClient(e.gw.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatalf("reflection send %v: %v", req, err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("reflection answer to %v: %v", req, err)
		}
		if er := resp.GetErrorResponse(); er != nil {
			t.Fatalf("reflection answer to %v: error %d %s", req, er.GetErrorCode(), er.GetErrorMessage())
		}
		return resp
	}

	listed := ask(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	var names []string
	for _, s := range listed.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"tollgate.v1.InferenceService", "tollgate.v1.CatalogService", "tollgate.v1.TeamService",
		"tollgate.v1.PolicyService", "tollgate.v1.UsageService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, without %s", names, want)
		}
	}

	// The file of the service, then every dependency the answers name,
	// asked for by file name until none is missing.
	set := map[string]*descriptorpb.FileDescriptorProto{}
	add := func(resp *reflectionpb.ServerReflectionResponse) {
		t.Helper()
		for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if err := proto.Unmarshal(raw, fd); err != nil {
				t.Fatalf("reflection file descriptor: %v", err)
			}
			set[fd.GetName()] = fd
		}
	}
	add(ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: "tollgate.v1.InferenceService"}}))
	for missing := true; missing; {
		missing = false
		for _, fd := range set {
			for _, dep := range fd.GetDependency() {
				if set[dep] == nil {
					missing = true
					add(ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{
						FileByFilename: dep}}))
					if set[dep] == nil {
						t.Fatalf("reflection has no file %s (a dependency of %s)", dep, fd.GetName())
					}
				}
			}
		}
	}
	var fds descriptorpb.FileDescriptorSet
	for _, fd := range set {
		fds.File = append(fds.File, fd)
	}
	files, err := protodesc.NewFiles(&fds)
	if err != nil {
		t.Fatalf("the reflected files do not resolve: %v", err)
	}
	d, err := files.FindDescriptorByName("tollgate.v1.InferenceService")
	if err != nil {
		t.Fatal(err)
	}
	chat := d.(protoreflect.ServiceDescriptor).Methods().ByName("Chat")
	if chat == nil {
		t.Fatal("the reflected InferenceService has no Chat")
	}

	req := dynamicpb.NewMessage(chat.Input())
	if err := protojson.Unmarshal([]byte(`{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":[{"text":"by reflection"}]}]}`), req); err != nil {
		t.Fatalf("a request from the reflected descriptors: %v", err)
	}
	resp := dynamicpb.NewMessage(chat.Output())
	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+e.key)
	if err := conn.Invoke(callCtx, "/tollgate.v1.InferenceService/Chat", req, resp); err != nil {
		t.Fatalf("Chat with a reflected request: %v", err)
	}
	// The answer, read back through the generated type, is what the
	// gateway answers any client.
	raw, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var got tollgatev1.ChatResponse
	if err := proto.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if text := got.GetChoices()[0].GetMessage().GetContent()[0].GetText(); text != "echo: by reflection" {
		t.Fatalf("Chat with a reflected request answered %q", text)
	}
}
