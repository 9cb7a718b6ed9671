// Command tollgate is the Tollgate AI gateway. Run "tollgate serve -h" for
// the server's settings.
package main

import (
	"context"
	"os"

	// Root certificates for hosts and images without a CA bundle (the
	// container image is built from scratch); the system's roots win
	// wherever they exist.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/configsync"
)

func main() {
	os.Exit(app.Main(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr, configsync.NewCommand))
}
