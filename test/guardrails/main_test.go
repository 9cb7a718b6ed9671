package guardrails_test

import (
	"os"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
