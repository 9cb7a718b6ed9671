package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/faultproxy"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// chatStatus sends one OpenAI chat request with key and returns its status.
func chatStatus(t *testing.T, gw *servertest.Gateway, key string) int {
	t.Helper()
	s, _ := post(t, gw.URL, "/v1/chat/completions", key, oaiUnary, false)
	return s
}

// TestRevokeWhoseReloadFails revokes a key in the same transaction that
// makes the keys table disappear for a moment: every replica fails to
// apply the notification, keeps retrying, and refuses the key once the
// table is back.
func TestRevokeWhoseReloadFails(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	a := servertest.Start(t, servertest.Options{})
	a.Setup(t, upURL)
	b := servertest.Start(t, servertest.Options{DatabaseURL: a.DatabaseURL})
	id, key := a.CreateKey(t, servertest.TeamID)
	for _, gw := range []*servertest.Gateway{a, b} {
		testutil.Eventually(t, func() error {
			if s := chatStatus(t, gw, key); s != http.StatusOK {
				return fmt.Errorf("new key on %s: %d", gw.URL, s)
			}
			return nil
		})
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE virtual_keys SET revoked_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE virtual_keys RENAME TO virtual_keys_away`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	// Both replicas fail to read the revoked key...
	for _, gw := range []*servertest.Gateway{a, b} {
		testutil.Eventually(t, func() error {
			if !strings.Contains(gw.Logs.String(), "applying change failed") {
				return fmt.Errorf("no failed apply logged by %s", gw.URL)
			}
			return nil
		})
	}
	// ...until the table is back.
	if _, err := conn.Exec(ctx, `ALTER TABLE virtual_keys_away RENAME TO virtual_keys`); err != nil {
		t.Fatal(err)
	}
	for _, gw := range []*servertest.Gateway{a, b} {
		testutil.Eventually(t, func() error {
			if s := chatStatus(t, gw, key); s != http.StatusUnauthorized {
				return fmt.Errorf("revoked key on %s: %d, want 401", gw.URL, s)
			}
			return nil
		})
		t.Logf("revocation enforced on %s %v after the revoke", gw.URL, time.Since(revoked).Round(time.Millisecond))
	}
}

// TestPartitionedReplicaStopsAdmittingRevokedKey cuts replica B from
// Postgres without closing its connections (a silent partition), revokes
// a key through replica A, and checks that B stops admitting it within
// the staleness bound: it cannot confirm the key, so it refuses with 503
// rather than trust a view it could not confirm. Once the partition
// heals, B refuses the key as revoked.
func TestPartitionedReplicaStopsAdmittingRevokedKey(t *testing.T) {
	t.Parallel()
	const bound = 3 * time.Second // the default -config-max-staleness
	_, upURL := fakeupstream.StartOpenAI(t)
	a := servertest.Start(t, servertest.Options{})
	a.Setup(t, upURL)
	proxy, viaProxy := faultproxy.Via(t, a.DatabaseURL)
	b := servertest.Start(t, servertest.Options{DatabaseURL: viaProxy})
	id, key := a.CreateKey(t, servertest.TeamID)
	testutil.Eventually(t, func() error {
		if s := chatStatus(t, b, key); s != http.StatusOK {
			return fmt.Errorf("new key on B: %d", s)
		}
		return nil
	})

	proxy.Set(faultproxy.Partition)
	if _, err := a.Admin.RevokeKey(context.Background(), connect.NewRequest(&tollgatev1.RevokeKeyRequest{Id: id})); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	admitted := 0
	var lastAdmitted, refusedAfter time.Duration
	testutil.Eventually(t, func() error {
		sent := time.Since(revoked)
		switch s := chatStatus(t, b, key); s {
		case http.StatusOK:
			admitted++
			lastAdmitted = sent
			return fmt.Errorf("B still admits the revoked key after %v", time.Since(revoked))
		case http.StatusServiceUnavailable:
			refusedAfter = time.Since(revoked)
			return nil
		default:
			return fmt.Errorf("B answered %d", s)
		}
	})
	t.Logf("partitioned replica: revoked key admitted %d times, the last sent %v after the revoke; first refusal (503) answered %v after it; bound %v",
		admitted, lastAdmitted.Round(time.Millisecond), refusedAfter.Round(time.Millisecond), bound)
	// Later requests are refused at once, without waiting for Postgres.
	for range 3 {
		if s := chatStatus(t, b, key); s != http.StatusServiceUnavailable {
			t.Errorf("partitioned replica answered %d, want 503", s)
		}
	}
	if h := healthz(t, b.URL); h["status"] != "degraded" || h["ready"] != true {
		t.Errorf("B's health while partitioned: %v, want degraded and still ready", h)
	}

	proxy.Set(faultproxy.Forward)
	testutil.Eventually(t, func() error {
		if s := chatStatus(t, b, key); s != http.StatusUnauthorized {
			return fmt.Errorf("after the partition healed: %d, want 401", s)
		}
		return nil
	})
}
