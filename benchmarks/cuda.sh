#!/usr/bin/env bash
# The CUDA path, checked in one short run on a machine with a GPU (CI has none):
#   the tests that touch the device, proxy throughput (bf16 + channels_last, data on the GPU),
#   the default search, final training (the CPU recipe, FINAL_EPOCHS epochs) and latency on the GPU.
# Records (proxy_throughput.json, defaults.json, final_training.json) go to DIR; each step has a
# time limit so one slow step cannot starve the rest, and prints its exit status and wall clock.
#
#   benchmarks/cuda.sh DIR        # PYTHON (python3), DEVICE (cuda), FINAL_EPOCHS (3), WORKERS (8),
#                                 # STEPS (tests throughput latency final search: which to run),
#                                 # KEEP (runs/final/cuda: the final training's runs)
#
# DEVICE=cpu FINAL_EPOCHS=1 SMOKE=1 runs the same steps on tiny budgets, to check the script itself.
set -u
all="tests throughput latency final search"
dir=${1:?usage: benchmarks/cuda.sh DIR}
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
epochs=${FINAL_EPOCHS:-3}
workers=${WORKERS:-8}
keep=${KEEP:-runs/final/cuda} # the final training's runs, emptied first (relative: to the repository)
steps=" ${STEPS:-$all} "
for name in $steps; do
    [[ " $all " == *" $name "* ]] || { echo "cuda.sh: error: unknown step '$name' in STEPS; allowed: $all" >&2; exit 2; }
done
mkdir -p "$dir" && dir=$(cd "$dir" && pwd) # the records' folder, before leaving the caller's
cd "$(dirname "$0")/.."
failed=0

chosen() { [[ $steps == *" $1 "* ]]; }

step() { # step NAME SECONDS COMMAND...: NAME's first word is the one STEPS chooses by
    local name=$1 limit=$2 start=$SECONDS status
    shift 2
    chosen "${name%%-*}" || return 0
    echo "== $name: $*"
    timeout "$limit" "$@"
    status=$?
    echo "== $name: exit $status after $((SECONDS - start)) s"
    [ "$status" -eq 0 ] || failed=1
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
step throughput 120 "$py" -m benchmarks.proxy_throughput --device "$device" --results-dir "$dir" "${throughput[@]}" \
    --variant amp=false --variant channels_last=false --variant amp=false,channels_last=false
for batch in 1 64; do
    step "latency-b$batch" 25 "$py" -m search_spaces.latency measure efficientnet_b0 --device "$device" --batch-size "$batch"
done
# The network the committed (CPU) default search found, so the two machines train the same pair.
! chosen final || rm -rf "$keep"
step final 120 "$py" -m benchmarks.final_training --results-dir "$dir" --keep "$keep" \
    --defaults benchmarks/results/defaults.json -- "device=$device" "proxy.epochs=$epochs" ${final[@]+"${final[@]}"}
step search 280 "$py" -m benchmarks.defaults --only search --results-dir "$dir" -- "device=$device" ${tiny[@]+"${tiny[@]}"}
ls -l "$dir"
exit "$failed"
