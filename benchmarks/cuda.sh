#!/usr/bin/env bash
# The CUDA path, checked in one short run on a machine with a GPU (CI has none):
#   the tests that touch the device, proxy throughput (bf16 + channels_last, data on the GPU),
#   the default search, final training (the CPU recipe, FINAL_EPOCHS epochs) and latency on the GPU.
# Records (proxy_throughput.json, defaults.json, final_training.json) go to DIR; each step has a
# time limit so one slow step cannot starve the rest, and prints its exit status and wall clock.
#
#   benchmarks/cuda.sh DIR        # PYTHON (python3), DEVICE (cuda), FINAL_EPOCHS (3), WORKERS (8),
#                                 # STEPS (tests throughput latency final search: which to run)
#
# DEVICE=cpu FINAL_EPOCHS=1 SMOKE=1 runs the same steps on tiny budgets, to check the script itself.
set -u
dir=${1:?usage: benchmarks/cuda.sh DIR}
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
epochs=${FINAL_EPOCHS:-3}
workers=${WORKERS:-8}
steps=" ${STEPS:-tests throughput latency final search} "
mkdir -p "$dir"
cd "$(dirname "$0")/.."

step() { # step NAME SECONDS COMMAND...
    local name=$1 limit=$2 start=$SECONDS
    shift 2
    [[ $steps == *" ${name%%-*} "* ]] || return 0
    echo "== $name: $*"
    timeout "$limit" "$@"
    echo "== $name: exit $? after $((SECONDS - start)) s"
}

if [ -n "${SMOKE:-}" ]; then
    tiny=(proxy=tiny search.n_trials=2)
    final=(proxy.train_size=1000 proxy.val_size=500 proxy.test_size=500)
    throughput=(--steps 4 --repeats 1 --batch-size 32)
else
    tiny=() final=() throughput=(--steps 100)
fi

"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
step tests 80 "$py" -m pytest -q -p no:cacheprovider -n "$workers" -m "gpu or not slow" \
    tests/nas/proxy tests/search_spaces/test_latency.py tests/nas/cli/test_workers.py tests/nas/test_train.py
step throughput 90 "$py" -m benchmarks.proxy_throughput --device "$device" --results-dir "$dir" "${throughput[@]}" \
    --variant amp=false --variant channels_last=false --variant amp=false,channels_last=false
for batch in 1 64; do
    step "latency-b$batch" 25 "$py" -m search_spaces.latency measure efficientnet_b0 --device "$device" --batch-size "$batch"
done
# The network the committed (CPU) default search found, so the two machines train the same pair.
rm -rf runs/final/cuda
step final 120 "$py" -m benchmarks.final_training --results-dir "$dir" --keep runs/final/cuda \
    --defaults benchmarks/results/defaults.json -- "device=$device" "proxy.epochs=$epochs" "${final[@]}"
step search 280 "$py" -m benchmarks.defaults --only search --results-dir "$dir" -- "device=$device" "${tiny[@]}"
ls -l "$dir"
