#!/usr/bin/env bash
# GPU figures for issue 7, on a machine with an NVIDIA GPU (run from the repository root):
#   bash bench/gpu_check.sh [python]  ->  one JSON line per measurement on stdout, a summary line last
# 1. the Warp backend test (Warp CPU vs Batch agreement, env on Warp);
# 2. end-to-end training throughput with the spiking actor, a1_flat and a1_rough, 4096 and 16384 envs,
#    fp32 and bf16 (target on an H200: >= 300k env steps/s on a1_rough).
set -u
PY=${1:-python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || { echo '{"gpu_check": "no nvidia-smi"}'; exit 1; }
$PY -c "import mujoco_warp, warp" 2>/dev/null || $PY -m pip install -q -e '.[gpu]'
$PY -m pytest -q tests/test_warp_backend.py 2>&1 | tail -1 | sed 's/^/# warp backend test: /'
results=()
for task in a1_flat a1_rough; do
  for n in 4096 16384; do
    for mp in "" "--mixed_precision"; do
      line=$(timeout 900 $PY bench/train_throughput.py --task "$task" --num_envs "$n" --actor snn \
             --sim_device cuda:0 --rl_device cuda:0 $mp --iterations 3 --json 2>/tmp/gpu_check_err.txt | tail -1)
      if [[ "$line" != \{* ]]; then
        line="{\"bench\": \"train_throughput\", \"task\": \"$task\", \"num_envs\": $n, \"mixed_precision\": \"$mp\", \"error\": \"$(tail -1 /tmp/gpu_check_err.txt | tr -d '\"')\"}"
      fi
      echo "$line"
      results+=("$line")
    done
  done
done
echo "{\"gpu_check\": \"done\", \"runs\": ${#results[@]}}"
