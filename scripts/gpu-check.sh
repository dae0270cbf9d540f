#!/usr/bin/env bash
# The GPU check: run on a GPU machine with this repository and a prebuilt wgpu binary (scripts/pack-gpu.sh
# makes one here; the GPU machine needs no Rust and no network). It
#   (a) lists the devices ddlab sees (`ddlab devices`);
#   (b) trains a small sweep on wgpu and on flex and compares their runs.csv against the documented
#       tolerance (README, GPUs: results agree up to reduction order);
#   (c) times `ddlab bench` on experiments/gpu.toml (cut to --epochs) against the model-by-model PyTorch
#       reference on the same GPU, with the GPU's utilisation and memory per process (nvidia-smi pmon).
# Everything it measures goes under one folder (default gpu-check/, or $1), and a summary is printed at
# the end. Sized to finish within 8 minutes on one H200.
#
# Usage: scripts/gpu-check.sh [OUT_DIR]
#   DDLAB_BIN       the binary (default: dist/ddlab-gpu, unpacked from dist/ddlab-gpu.gz if needed)
#   BENCH_EPOCHS    epochs of experiments/gpu.toml the bench trains (default 40)
#   BENCH_EXPERIMENT, AGREEMENT_EXPERIMENT   other experiment files (a dry run on a machine without a
#                   GPU uses tiny ones: wgpu on a software adapter is hundreds of times slower)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${1:-gpu-check}
mkdir -p "$out"
out=$(cd "$out" && pwd)
epochs=${BENCH_EPOCHS:-40}
bench_file=${BENCH_EXPERIMENT:-experiments/gpu.toml}
agree_file=${AGREEMENT_EXPERIMENT:-experiments/gpu-agreement.toml}
summary="$out/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

# The binary.
bin=${DDLAB_BIN:-}
if [ -z "$bin" ]; then
  if [ -x dist/ddlab-gpu ]; then
    bin=dist/ddlab-gpu
  elif [ -f dist/ddlab-gpu.gz ]; then
    gunzip -c dist/ddlab-gpu.gz >/tmp/ddlab-gpu && chmod +x /tmp/ddlab-gpu && bin=/tmp/ddlab-gpu
  else
    echo "error: no binary: set DDLAB_BIN or run scripts/pack-gpu.sh on a build machine first" >&2
    exit 1
  fi
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
# The binary was built elsewhere: point it at this checkout's data and scripts.
export DDLAB_DATA_DIR="$repo/data" DDLAB_TORCH_SCRIPT="$repo/scripts/bench_torch.py"

# The Vulkan loader: pack-gpu.sh --vulkan-loader puts Debian's libvulkan1 under .gl/ for machines
# without it; the NVIDIA driver's manifest may sit where the loader does not look.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  if ls .gl/libvulkan1_*.deb >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    note "vulkan loader: unpacked from .gl/"
  else
    note "vulkan loader: libvulkan.so.1 not installed (ddlab devices says what to do)"
  fi
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  note "VK_DRIVER_FILES=$VK_DRIVER_FILES"
fi

note "== ddlab gpu-check $(date -u +%FT%TZ) on $(hostname); binary $bin ($(du -h "$bin" | cut -f1))"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$summary"
else
  note "gpu: nvidia-smi is not installed (no NVIDIA driver, or not on PATH)"
fi

# (a) Devices.
note "== (a) ddlab devices"
"$bin" devices 2>&1 | tee "$out/devices.txt" | tee -a "$summary"

# (b) Agreement: the same small sweep on wgpu and on flex.
note "== (b) small sweep: wgpu against flex"
# wgpu twice: the second run shows how far a GPU's reduction order moves results from run to run.
for name in flex wgpu wgpu-again; do
  backend=${name%-again}
  start=$(date +%s%N)
  timeout 100 "$bin" sweep "$agree_file" --backend "$backend" --no-probe --quiet \
    --runs-dir "$out/agree-$name" >"$out/agree-$name.log" 2>&1
  rc=$?
  note "$name sweep: exit $rc, $(( ($(date +%s%N) - start) / 1000000 )) ms"
  [ $rc = 0 ] || tail -5 "$out/agree-$name.log" | tee -a "$summary"
done
python3 scripts/compare_runs.py "$out"/agree-flex/*/runs.csv "$out"/agree-wgpu/*/runs.csv 2>&1 | tee "$out/agreement.txt" | tee -a "$summary"
note "wgpu against itself (run to run):"
python3 scripts/compare_runs.py "$out"/agree-wgpu/*/runs.csv "$out"/agree-wgpu-again/*/runs.csv 2>&1 | tee -a "$out/agreement.txt" | tee -a "$summary"

# (c) Speed against PyTorch on the same GPU, with the GPU's utilisation per process.
note "== (c) ddlab bench $bench_file --epochs $epochs on wgpu, PyTorch model by model on cuda"
pmon_pid=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi pmon -s um -d 1 >"$out/pmon.txt" 2>&1 &
  pmon_pid=$!
fi
timeout 240 "$bin" bench "$bench_file" --backend wgpu --epochs "$epochs" --repeat 1 --no-separate \
  --no-ndarray --torch-device cuda 2>&1 | tee "$out/bench.txt" | tee -a "$summary"
[ -n "$pmon_pid" ] && kill "$pmon_pid" 2>/dev/null
# The plans compared on the GPU (what packing for the device gains), half the epochs, no PyTorch.
note "== (c') the GPU plan against the CPU plan on the same GPU, $((epochs / 2)) epochs"
timeout 120 "$bin" bench "$bench_file" --backend wgpu --epochs $((epochs / 2)) --repeat 1 --no-separate \
  --no-ndarray --no-torch --compare-plans 2>&1 | tee "$out/plans.txt" | tee -a "$summary"
if [ -s "$out/pmon.txt" ]; then
  note "GPU use while running (nvidia-smi pmon, 1 s samples: SM utilisation % mean / max, frame-buffer MiB max):"
  # Columns: gpu pid type sm mem enc dec [jpg ofa] fb [ccpm] command; '-' when idle.
  awk '!/^#/ && NF > 5 {
      cmd = $NF; sm = $4; fb = "";
      for (i = 5; i < NF; i++) if ($i ~ /^[0-9]+$/ && $i + 0 > 0) fb = $i;
      if (sm ~ /^[0-9]+$/) { n[cmd]++; s[cmd] += sm; if (sm > m[cmd]) m[cmd] = sm }
      if (fb != "" && fb + 0 > f[cmd]) f[cmd] = fb + 0
    }
    END { for (c in n) printf "  %-12s SM %5.1f%% mean, %3d%% max over %d samples; memory up to %d MiB\n", c, s[c] / n[c], m[c], n[c], f[c] }' \
    "$out/pmon.txt" | tee -a "$summary"
fi
note "== written under $out"
