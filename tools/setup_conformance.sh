#!/usr/bin/env bash
# Installs the conformance runtimes into .venv and web/ (CI runs it before the tests; quick and
# idempotent when everything is present): requirements-conformance.txt (OpenVINO, tract) and
# requirements-web.txt (Playwright), Debian's chromium and Node.js when missing (apt, as root), and web/'s pinned
# onnxruntime-node / onnxruntime-web (npm ci; ONNXRUNTIME_NODE_INSTALL=skip: no CUDA download).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/tools/setup_env.sh")"
stamp="$root/.venv/.conformance.sha1"
want="$(cat "$root/requirements-conformance.txt" "$root/requirements-web.txt" | sha1sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$py" -m pip install -q -r "$root/requirements-conformance.txt" -r "$root/requirements-web.txt" >&2
  echo "$want" > "$stamp"
fi
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "setup_conformance: ${missing[*]} missing (install them; the tests needing them skip)" >&2
  fi
fi
web="$root/web"
web_stamp="$web/node_modules/.package-lock.sha1"
web_want="$(sha1sum < "$web/package-lock.json" | cut -d' ' -f1)"
if command -v npm >/dev/null 2>&1 && [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_want" ]; then
  (cd "$web" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$web_want" > "$web_stamp"
fi
