#!/usr/bin/env bash
# The whole kernel benchmark on one GPU, as one prepared script (kernels issue, item 6).
#
#   scripts/kernels_gpu.sh OUT_DIR [DATA_DIR]
#
# Runs every attention shape of the GPU track (32 heads, head dim 64, bfloat16, n = 1k..131k, causal
# and not) for hyper and lowrank with --device cuda, then the quantisers (numpy and faiss-cpu: on the
# host CPU), and writes one results file per model into OUT_DIR (plus a SQLite index there). Each
# attention run is budgeted: on an H100 the whole script is meant to finish in under 8 minutes; the
# budget per command keeps a slow card from eating the rest. Needs the harness installed
# (pip install -e ".[kernels]") and CUDA visible to torch.
set -euo pipefail
out=${1:?usage: scripts/kernels_gpu.sh OUT_DIR [DATA_DIR]}
data=${2:-${HARNESS_DATA:-../shared/data}}
mkdir -p "$out"
export HF_HUB_OFFLINE=1
python - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device: this script is for a GPU machine"
print("gpu:", torch.cuda.get_device_name(0), "torch", torch.__version__)
PY
start=$(date +%s)
for model in hyper lowrank; do
  timeout 200 harness run --suite kernels --model "$model" --device cuda --quiet \
    --data-dir "$data" --db "sqlite:///$out/kernels.sqlite" --results-dir "$out" \
    --output "$out/$model-gpu.json"
  echo "kernels-gpu: $model done at $(( $(date +%s) - start )) s"
done
for model in pq lowrank-pq faiss-pq; do
  timeout 60 harness run --suite kernels --model "$model" --quiet \
    --data-dir "$data" --db "sqlite:///$out/kernels.sqlite" --results-dir "$out" \
    --output "$out/$model.json"
  echo "kernels-gpu: $model done at $(( $(date +%s) - start )) s"
done
echo "kernels-gpu: finished in $(( $(date +%s) - start )) s; files in $out"
