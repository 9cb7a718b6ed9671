// Command tollgate is the Tollgate AI gateway. Run "tollgate serve -h" for
// the server's settings.
package main

import (
	"context"
	"os"

	"github.com/tollgate-dev/tollgate/service/app"
)

func main() {
	os.Exit(app.Main(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
