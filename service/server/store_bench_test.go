package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// BenchmarkChatByStore sends unary chats through the real server on each
// store, with the response cache off and in exact mode (every request
// after the first a hit), to compare the request path's cost on the
// embedded store with Postgres. cpu-µs/op is this process's CPU: on the
// embedded store it includes writing the records (in process), on
// Postgres only sending them.
func BenchmarkChatByStore(b *testing.B) {
	for _, st := range []struct {
		name     string
		embedded bool
	}{{"postgres", false}, {"embedded", true}} {
		for _, mode := range []string{"off", "exact"} {
			b.Run(st.name+"/cache-"+mode, func(b *testing.B) {
				_, url := fakeupstream.StartOpenAI(b)
				gw := servertest.Start(b, servertest.Options{Embedded: st.embedded, Config: func(c *server.Config) {
					c.LogRequests, c.LogLevel, c.Cache.Mode = false, "warn", mode
				}})
				e := &env{gw: gw, key: gw.Setup(b, url)}
				c := e.inference(e.key)
				req := connect.NewRequest(chatReq("benchmark prompt of a typical size, asking the model a short question"))
				measure(b, func() {
					if _, err := c.Chat(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}
