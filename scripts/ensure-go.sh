#!/usr/bin/env bash
# Prints the path of a go command at least as new as go.mod's go line. On a
# machine without one it fetches that release from the Go module proxy, as
# the go command's own toolchain switch does, into ~/.cache/flowlens/.
#   GO=$(scripts/ensure-go.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(awk '/^go /{print $2; exit}' go.mod)

new_enough() {
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  [ "$(printf '%s\n%s\n' "$want" "$v" | sort -V | head -1)" = "$want" ]
}

if [ -z "${ENSURE_GO_FETCH:-}" ]; then
  for g in "$(command -v go || true)" /usr/local/go/bin/go; do
    if [ -n "$g" ] && [ -x "$g" ] && new_enough "$g"; then
      echo "$g"
      exit 0
    fi
  done
fi

os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "ensure-go: no Go release for $(uname -m)" >&2; exit 1 ;;
esac
ver="v0.0.1-go$want.$os-$arch"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/flowlens/go$want"
if ! [ -x "$dir/bin/go" ]; then
  url="https://proxy.golang.org/golang.org/toolchain/@v/$ver.zip"
  echo "ensure-go: fetching go$want from $url" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 3 -o "$tmp/go.zip" "$url"
  unzip -q "$tmp/go.zip" -d "$tmp"
  root="$tmp/golang.org/toolchain@$ver"
  # Module zips keep no file modes.
  chmod +x "$root"/bin/* "$root"/pkg/tool/*/*
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$root" "$dir"
fi
echo "$dir/bin/go"
