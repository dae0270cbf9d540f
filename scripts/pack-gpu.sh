#!/usr/bin/env bash
# Builds and packs what a GPU machine needs to run ddlab (scripts/gpu-check.sh there): the release binary
# with the wgpu backend, without debug information and stripped (profile `gpu`), gzipped into dist/.
# Nothing else leaves the repository. With --vulkan-loader it also downloads Debian's Vulkan loader
# (libvulkan1) into .gl/ for GPU machines that have the NVIDIA driver but not the loader (gpu-check.sh
# unpacks it there). Build time on 2 cores: about 30 minutes from nothing (README, GPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --profile gpu --features wgpu
mkdir -p dist
cp target/gpu/ddlab dist/ddlab-gpu
gzip -9 -c dist/ddlab-gpu >dist/ddlab-gpu.gz
rm dist/ddlab-gpu
echo "binary: $(du -m target/gpu/ddlab | cut -f1) MiB stripped; packed: dist/ddlab-gpu.gz, $(du -m dist/ddlab-gpu.gz | cut -f1) MiB"
if [ "${1:-}" = "--vulkan-loader" ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1)
  echo "vulkan loader: $(ls .gl)"
fi
