// Package observability_test checks what the gateway tells operators
// through the real server: Prometheus metrics after a scripted mix of
// requests, the per-request log line, and OpenTelemetry traces received
// by an in-process OTLP collector.
package observability_test

import (
	"os"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
