#!/usr/bin/env bash
# Runs a working Tollgate demo on this machine with nothing else installed:
# the gateway on the embedded store (kept in .dev/data), a fake
# OpenAI-compatible upstream on 127.0.0.1:9090 and the gateway on
# 127.0.0.1:8080, configured with a provider, a model, a team and a virtual
# key. No PostgreSQL and no root. Ctrl-C stops everything. Used by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.bin"
DEV="$PWD/.dev"
DATA="$DEV/data"
ADDR="${TOLLGATE_LISTEN_ADDR:-127.0.0.1:8080}"
UPSTREAM="${DEMO_UPSTREAM_ADDR:-127.0.0.1:9090}"
mkdir -p "$DEV"
chmod 700 "$DEV"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/fakeupstream" -addr "$UPSTREAM" 2>"$DEV/upstream.log" &
pids+=($!)

# No database URL: the gateway runs on the embedded store in $DATA and, on
# its first start, generates the master key and the admin token there
# (mode 0600). A database URL in the environment would win: unset them.
env -u TOLLGATE_DATABASE_URL -u DATABASE_URL -u TOLLGATE_MASTER_KEY -u TOLLGATE_ADMIN_TOKEN \
  "$BIN/tollgate" serve -addr "$ADDR" -data-dir "$DATA" 2>"$DEV/tollgate.log" &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://$ADDR/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://$ADDR/readyz" >/dev/null || { tail -20 "$DEV/tollgate.log" >&2; echo "demo: gateway did not become ready" >&2; exit 1; }
TOLLGATE_ADMIN_TOKEN="$(cat "$DATA/admin.token")"

admin() { # admin SERVICE/METHOD JSON: a Connect unary call with curl
  curl -sS -X POST "http://$ADDR/tollgate.v1.$1" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $TOLLGATE_ADMIN_TOKEN" -d "$2"
}
# A second run finds these already made (already_exists), which is fine.
admin CatalogService/CreateProvider '{"provider":{"id":"fake-openai","type":"PROVIDER_TYPE_OPENAI_COMPATIBLE","baseUrl":"http://'"$UPSTREAM"'/v1"},"credential":"sk-demo-upstream-key"}' >/dev/null
admin CatalogService/CreateModel '{"model":{"name":"gpt-4o-mini","providerId":"fake-openai","contextWindow":128000,"pricing":{"inputPerMillion":{"currencyCode":"USD","nanos":150000000},"outputPerMillion":{"currencyCode":"USD","nanos":600000000}}}}' >/dev/null
admin CatalogService/CreateModel '{"model":{"name":"text-embedding-3-small","providerId":"fake-openai","embedding":true}}' >/dev/null
admin TeamService/CreateTeam '{"team":{"id":"demo","displayName":"Demo team"}}' >/dev/null
KEY=$(admin TeamService/CreateKey '{"key":{"name":"demo key","teamId":"demo"}}' | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
[ -n "$KEY" ] || { echo "demo: could not create a key" >&2; exit 1; }

cat <<MSG

Tollgate is running on http://$ADDR (Connect, gRPC and gRPC-Web, and the
OpenAI and Anthropic HTTP APIs) on the embedded store in .dev/data, with a
fake OpenAI-compatible upstream on http://$UPSTREAM. Logs are in .dev/.

  virtual key:  $KEY
  admin token:  in .dev/data/admin.token

Try it:
  curl -s http://$ADDR/v1/chat/completions -H "Authorization: Bearer $KEY" \\
    -H 'Content-Type: application/json' \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}'

  curl -s http://$ADDR/tollgate.v1.InferenceService/Chat \\
    -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"ROLE_USER","content":[{"text":"Hello!"}]}]}'

Press Ctrl-C to stop.
MSG
wait "${pids[1]}"
