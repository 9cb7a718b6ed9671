#!/usr/bin/env bash
# Runs a working Tollgate demo on this machine: a local PostgreSQL (kept in
# .dev/pg), a fake OpenAI-compatible upstream on 127.0.0.1:9090 and the
# gateway on 127.0.0.1:8080, configured with a provider, a model, a team and
# a virtual key. Ctrl-C stops everything. Used by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.bin"
DEV="$PWD/.dev"
ADDR="${TOLLGATE_ADDR:-127.0.0.1:8080}"
UPSTREAM="${DEMO_UPSTREAM_ADDR:-127.0.0.1:9090}"
mkdir -p "$DEV"
chmod 700 "$DEV"
# PostgreSQL runs as the postgres user, which may not reach this checkout
# (e.g. under /root): its data lives under /var/tmp, one cluster per checkout.
PGDIR="${TOLLGATE_DEMO_PGDIR:-/var/tmp/tollgate-demo/$(printf %s "$PWD" | md5sum | cut -c1-12)}"
mkdir -p "$(dirname "$PGDIR")"

# Secrets are made once and kept in .dev/env (mode 600).
if [ ! -f "$DEV/env" ]; then
  umask 077
  {
    echo "TOLLGATE_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "TOLLGATE_ADMIN_TOKEN=adm-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } >"$DEV/env"
fi
set -a; . "$DEV/env"; set +a

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/pgtestd" -dir "$PGDIR" >"$DEV/pg.url" 2>"$DEV/pg.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^DATABASE_URL=' "$DEV/pg.url" 2>/dev/null && break; sleep 0.1; done
grep -q '^DATABASE_URL=' "$DEV/pg.url" || { cat "$DEV/pg.log" >&2; echo "demo: PostgreSQL did not start" >&2; exit 1; }
export TOLLGATE_DATABASE_URL="$(sed -n 's/^DATABASE_URL=//p' "$DEV/pg.url")"

"$BIN/fakeupstream" -addr "$UPSTREAM" 2>"$DEV/upstream.log" &
pids+=($!)

"$BIN/tollgate" serve -addr "$ADDR" -spill-dir "$DEV/spill" 2>"$DEV/tollgate.log" &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://$ADDR/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://$ADDR/readyz" >/dev/null || { tail -20 "$DEV/tollgate.log" >&2; echo "demo: gateway did not become ready" >&2; exit 1; }

admin() { # admin METHOD JSON: a Connect unary call with curl
  curl -sS -X POST "http://$ADDR/tollgate.v1.AdminService/$1" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $TOLLGATE_ADMIN_TOKEN" -d "$2"
}
admin CreateProvider '{"provider":{"id":"fake-openai","type":"PROVIDER_TYPE_OPENAI_COMPATIBLE","baseUrl":"http://'"$UPSTREAM"'/v1"},"credential":"sk-demo-upstream-key"}' >/dev/null
admin CreateModel '{"model":{"name":"gpt-4o-mini","providerId":"fake-openai","contextWindow":128000,"pricing":{"inputPerMillion":{"currencyCode":"USD","nanos":150000000},"outputPerMillion":{"currencyCode":"USD","nanos":600000000}}}}' >/dev/null
admin CreateModel '{"model":{"name":"text-embedding-3-small","providerId":"fake-openai","embedding":true}}' >/dev/null
admin CreateTeam '{"team":{"id":"demo","displayName":"Demo team"}}' >/dev/null
KEY=$(admin CreateKey '{"key":{"name":"demo key","teamId":"demo"}}' | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
[ -n "$KEY" ] || { echo "demo: could not create a key" >&2; exit 1; }

cat <<MSG

Tollgate is running on http://$ADDR (Connect, gRPC and gRPC-Web), with a fake
OpenAI-compatible upstream on http://$UPSTREAM. Logs are in .dev/.

  virtual key:  $KEY
  admin token:  in .dev/env

Try it:
  curl -s http://$ADDR/tollgate.v1.InferenceService/Chat \\
    -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":[{"text":"Hello!"}]}]}'

  .bin/grpcurl -plaintext $ADDR list
  .bin/grpcurl -plaintext -H "authorization: Bearer $KEY" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":[{"text":"Hello!"}]}]}' \\
    $ADDR tollgate.v1.InferenceService/Chat

Press Ctrl-C to stop.
MSG
wait "${pids[2]}"
