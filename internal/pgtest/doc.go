// Package pgtest runs tests against a real PostgreSQL server with the
// pgvector extension, started by the test binary itself.
//
// # Using it in a package's tests
//
// Call [Run] from TestMain and [NewDatabase] from each test that needs a
// database:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
//
//	func TestStore(t *testing.T) {
//		t.Parallel()
//		dsn := pgtest.NewMigratedDatabase(t) // fresh database, schema migrated
//		pool, err := pgxpool.New(t.Context(), dsn)
//		...
//	}
//
// [Run] uses the server named by the TOLLGATE_PGTEST_URL environment
// variable ([EnvURL]) when it is set: `make test` runs `pgtestd -- go test
// ./...`, which starts one cluster for the whole run and sets it, so every
// test binary shares one server. Otherwise Run uses DATABASE_URL when set,
// and otherwise starts a throwaway [Cluster] for the test binary on first
// use and closes it after the tests, so `go test ./somepkg` works without
// the Makefile. The URL's database is the admin database through which test
// databases are created and dropped.
//
// Each [NewDatabase] call creates a uniquely named database (tg_test_<hex>)
// and drops it when the test ends, so parallel tests never see each other's
// data. Databases are copies (CREATE DATABASE … TEMPLATE) of template
// databases built once per server: [NewDatabase] copies one holding only the
// vector extension, [NewMigratedDatabase] one with every migration of
// service/store/pgstore/migrations applied, named after the migrations'
// fingerprint so that a changed schema gets a new template. Tests that open
// a store or run a gateway use NewMigratedDatabase and skip migrating.
//
// Tests that take the server down to exercise outages use [PrivateCluster],
// a cluster of their own, so that no other test sees the outage.
//
// # Requirements
//
// The PostgreSQL server binaries must be installed (they are found through
// pg_config --bindir, else the highest /usr/lib/postgresql/*/bin), and so must
// pgvector; scripts/install-pgvector.sh (run by make test) installs it. When
// the test process runs as root, the cluster runs as the postgres OS user,
// because PostgreSQL refuses to run as root.
//
// # Lifetime of the server
//
// A [Cluster] runs the postmaster as a direct child of the test process with
// a parent-death signal, so the server goes away with the test binary even
// when the binary panics, times out or is killed. Temporary cluster
// directories left behind by such crashes are removed by the next
// [StartCluster] in the same temporary directory.
//
// The cluster trades durability for speed (fsync, synchronous_commit and
// full_page_writes are off): data survives a stop and restart of the server
// but not a crash of the machine.
package pgtest
