#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing ttt needs.
# Idempotent: prints nothing and touches nothing when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  nlohmann-json3-dev      # config.json, safetensors headers, --json output
  libyaml-cpp-dev         # hardware-config YAML files
  libcli11-dev            # the ttt command line
  libfmt-dev              # message and table formatting
  libxxhash-dev           # weight-cache keys and checksums
  libsentencepiece-dev    # tokenizer.model files
  libhwy-dev              # portable SIMD with run-time dispatch
  libdnnl-dev             # bf16/fp32 GEMM for prefill on the host
  libgtest-dev libgmock-dev
  libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-deps: done"
