#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: the system services the tests run
# against (installed, not started: tests start private instances on free ports), a
# virtual environment in .venv, and Aftercare with its development extras.
#
#   ./install.sh              everything
#   AFTERCARE_NO_APT=1 ./install.sh   skip Debian packages (the demo needs none of them)
set -euo pipefail
cd "$(dirname "$0")"

# mosquitto: MQTT broker; postgresql: the cloud's production database; victoria-metrics:
# an InfluxDB-API server for the telemetry store; chromium: the staff pages' browser test;
# fonts-wqy-microhei: Chinese labels in charts and screenshots.
packages=(mosquitto postgresql victoria-metrics chromium fonts-wqy-microhei)
binaries=(/usr/sbin/mosquitto /usr/lib/postgresql/*/bin/initdb /usr/bin/victoria-metrics
          /usr/bin/chromium /usr/share/fonts/truetype/wqy/wqy-microhei.ttc)

missing=()
for i in "${!packages[@]}"; do
  # shellcheck disable=SC2086 # the glob in the postgresql path must expand
  if ! ls ${binaries[$i]} >/dev/null 2>&1; then missing+=("${packages[$i]}"); fi
done
if [[ ${#missing[@]} -gt 0 && -z "${AFTERCARE_NO_APT:-}" ]]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    echo "install.sh: installing Debian packages: ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "install.sh: no apt-get; install these yourself for the full test suite: ${missing[*]}" >&2
  fi
fi

python=${PYTHON:-python3}
"$python" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Aftercare needs Python >= 3.11, this is {sys.version.split()[0]}")
PY
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
echo "install.sh: done. Next: . .venv/bin/activate && aftercare demo"
