#!/usr/bin/env bash
# install-pgvector.sh installs the pgvector PostgreSQL extension for the local
# PostgreSQL server, which the test harness (internal/pgtest) needs.
#
# pgvector is not packaged for Debian 12 (bookworm), so the script builds it
# from Debian's own pgvector source package of the trixie suite. The trixie
# source index is fetched with a private, throwaway apt configuration so the
# system's apt sources, lists and caches are never changed. The mirror is taken
# from the machine's existing apt configuration.
#
# The script is idempotent and quiet on success: it exits at once when the
# extension is already installed. Environment:
#   PG_CONFIG  pg_config of the target server (default: pg_config on PATH,
#              else the highest /usr/lib/postgresql/*/bin/pg_config)
#   VERBOSE=1  show the output of apt and make
set -euo pipefail

log() { printf 'install-pgvector: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_pg_config() {
	if [[ -n ${PG_CONFIG:-} ]]; then
		printf '%s\n' "$PG_CONFIG"
		return
	fi
	if command -v pg_config >/dev/null 2>&1; then
		command -v pg_config
		return
	fi
	local c
	c=$(ls -1d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -n 1 || true)
	[[ -n $c ]] || die "pg_config not found; install the PostgreSQL server packages first"
	printf '%s\n' "$c"
}

PG_CONFIG=$(find_pg_config)
[[ -x $PG_CONFIG ]] || die "pg_config $PG_CONFIG is not executable"
control="$("$PG_CONFIG" --sharedir)/extension/vector.control"
if [[ -f $control ]]; then
	exit 0
fi

[[ $(id -u) -eq 0 ]] || die "pgvector is not installed ($control missing) and installing it needs root; re-run as root"

pg_major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
[[ $pg_major =~ ^[0-9]+$ ]] || die "cannot parse the PostgreSQL version from '$("$PG_CONFIG" --version)'"

work=$(mktemp -d "${TMPDIR:-/tmp}/install-pgvector.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$work/output.log"

# run CMD... runs a command with its output captured; on failure it prints the
# captured output and stops the script.
run() {
	if [[ ${VERBOSE:-} == 1 ]]; then
		"$@"
		return
	fi
	if ! "$@" >>"$out" 2>&1; then
		log "command failed: $*"
		tail -n 60 "$out" >&2
		exit 1
	fi
}

installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# 1. Build dependencies, from the system's own apt sources, only when missing.
# The server headers are pinned to the installed server's version when the
# archive still has it, so that installing them does not upgrade the server.
missing=()
for p in "postgresql-server-dev-$pg_major" gcc make libc6-dev dpkg-dev; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
	run apt-get update
	pinned=()
	server_version=$(dpkg-query -W -f='${Version}' "postgresql-$pg_major" 2>/dev/null || true)
	for p in "${missing[@]}"; do
		if [[ $p == postgresql-server-dev-* && -n $server_version ]]; then
			p="$p=$server_version"
		fi
		pinned+=("$p")
	done
	apt_install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends)
	if ! "${apt_install[@]}" "${pinned[@]}" >>"$out" 2>&1; then
		run "${apt_install[@]}" "${missing[@]}"
	fi
fi

# 2. The Debian archive mirror this machine already uses: the URI of the deb
# source whose suites include the release's own codename (not -security or
# -updates). deb822 files first, then the one-line format.
codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
[[ -n $codename ]] || die "cannot read VERSION_CODENAME from /etc/os-release"

mirror_from_deb822() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk -v want="$codename" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uris != "" && enabled != "no") {
					split(uris, u, " "); print u[1]; found = 1; exit
				}
				types = ""; suites = ""; uris = ""; enabled = ""
			}
			/^[[:space:]]*#/ { next }
			/^[[:space:]]*$/ { flush(); next }
			/^[[:space:]]/ { next } # continuation line, e.g. an inline Signed-By key
			{
				line = $0; key = tolower(line); sub(/:.*/, "", key)
				val = line; sub(/^[^:]*:[[:space:]]*/, "", val); gsub(/[[:space:]]+/, " ", val)
				if (key == "types") types = val
				else if (key == "suites") suites = val
				else if (key == "uris") uris = val
				else if (key == "enabled") enabled = tolower(val)
			}
			END { if (!found) flush() }
		' "$f"
	done
}

mirror_from_list() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		# deb [options] URI suite component...
		sed -E -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v want="$codename" '$1 == "deb" && $3 == want { print $2; exit }'
	done
}

mirror=$(mirror_from_deb822 | head -n 1)
[[ -n $mirror ]] || mirror=$(mirror_from_list | head -n 1)
[[ -n $mirror ]] || die "no deb source for suite '$codename' found in /etc/apt/sources.list{,.d}; cannot derive the Debian mirror"
mirror=${mirror%/}

# 3. A private apt configuration holding only the trixie deb-src line.
apt_dir="$work/apt"
mkdir -p "$apt_dir/etc/preferences.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Dir::Cache::pkgcache="
	-o "Dir::Cache::srcpkgcache="
	-o "APT::Sandbox::User=root"
	-o "Acquire::Languages=none"
)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

src_update() {
	printf 'deb-src [%s] %s trixie main\n' "$1" "$mirror" >"$apt_dir/etc/sources.list"
	rm -rf "$apt_dir/lists" && mkdir -p "$apt_dir/lists/partial"
	apt-get "${apt_opts[@]}" update >>"$out" 2>&1 || return 1
	# apt-get update only warns about some signature problems; require the index.
	ls "$apt_dir/lists/"*_trixie_main_source_Sources* >/dev/null 2>&1
}

if [[ -f $keyring ]] && src_update "signed-by=$keyring"; then
	:
else
	# The keyring may predate trixie's signing key. We only build from source
	# and apt still checks the source files against the index's hashes.
	log "note: trixie release signature not verifiable with $keyring; using trusted=yes for the private deb-src list"
	src_update "trusted=yes" || {
		log "apt-get update of the private trixie deb-src list failed"
		tail -n 60 "$out" >&2
		exit 1
	}
fi

# 4. Fetch, unpack and build.
src="$work/src"
mkdir -p "$src"
cd "$src"
run apt-get "${apt_opts[@]}" source pgvector
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
if [[ -z $tree ]]; then
	dsc=$(ls -1 "$src"/pgvector_*.dsc 2>/dev/null | head -n 1 || true)
	[[ -n $dsc ]] || die "apt-get source pgvector fetched no .dsc file"
	run dpkg-source -x "$dsc"
	tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
	[[ -n $tree ]] || die "unpacking $dsc produced no source tree"
fi

# OPTFLAGS= drops -march=native, as Debian's own build does, so the library
# also works on other CPUs that share this image; with_llvm=no skips the JIT
# bitcode, which only slows the build.
make_args=(PG_CONFIG="$PG_CONFIG" OPTFLAGS= with_llvm=no)
run make -C "$tree" -j"$(nproc)" "${make_args[@]}"
run make -C "$tree" "${make_args[@]}" install

cd /
[[ -f $control ]] || die "make install finished but $control is missing"
