#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs for the demo and the tests. Idempotent:
# each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in mosquitto xvfb xauth libgl1 libegl1 libgl1-mesa-dri libegl-mesa0 libgbm1 libmtdev1 \
           fonts-wqy-microhei espeak-ng sox alsa-utils poppler-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# Node.js may come from elsewhere than Debian (its own npm inside): only ask Debian when absent.
command -v npm >/dev/null || need_apt+=(nodejs npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project and its Python dependencies"
  .venv/bin/pip install -q -e ".[all]"
  touch "$stamp"
fi

# The test LRS (Learning Locker's statement service, GPL-3: a test tool, never shipped).
if [ ! -f tests/lrs/node_modules/xapi-statements/dist/index.js ]; then
  echo "setup: installing the test LRS (npm xapi-statements)"
  (cd tests/lrs && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
# Ralph, the second LRS the relay is tested against (a test tool): in its own environment, because
# it pins its own stack (click < 8.2.1, FastAPI, pydantic) that would hold back the project's.
if [ ! -x tests/lrs/ralph-venv/bin/ralph ]; then
  echo "setup: installing the second test LRS (Ralph) in tests/lrs/ralph-venv"
  python3 -m venv tests/lrs/ralph-venv
  # requests: imported by its auth module but not among its declared dependencies
  tests/lrs/ralph-venv/bin/pip install -q "ralph-malph[lrs,cli]>=5" requests
fi
# The scale-out store's tests use the local PostgreSQL server: start it if it is not running.
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    echo "setup: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi
echo "setup: ready"
