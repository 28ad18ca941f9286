#!/usr/bin/env bash
# SIGTERM and NaN demonstrations of docs/reliability.md, run from the repository root:
#   bash tests/helpers/reliability_demo.sh [work folder]       (about two minutes on 2 CPU cores)
# The NaN runs inject the fault with tests/faults.py, so the repository root is on PYTHONPATH.
set -uo pipefail
WORK=${1:-outputs/reliability_demo}
rm -rf "$WORK" && mkdir -p "$WORK"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
BIN=$(dirname "$(command -v python)")
SMALL=(experiment=toy2d trainer=cpu callbacks.progress_bar=null callbacks.sample_figures=null
       model.network.hidden=64 trainer.limit_train_batches=4 trainer.limit_val_batches=1)
step() { python -c "import torch,sys; c=torch.load(sys.argv[1], weights_only=True); print('global_step', c['global_step'], 'epoch', c['epoch'], 'finite', all(bool(v.isfinite().all()) for v in c['state_dict'].values() if v.is_floating_point()))" "$1"; }

echo "== 3. SIGTERM from outside saves last.ckpt and exits cleanly; resuming continues"
"$BIN/flowdiff-train" "${SMALL[@]}" max_epochs=100000 hydra.run.dir="$WORK/sigterm" \
  +callbacks.slow._target_=tests.helpers.faults.SlowSteps > "$WORK/sigterm.log" 2>&1 &
PID=$!
until grep -qs "Trainable params" "$WORK/sigterm.log"; do sleep 0.2; done
sleep 5
kill -TERM "$PID"; wait "$PID"; echo "exit code: $?"
tail -n 1 "$WORK/sigterm.log"
step "$WORK/sigterm/checkpoints/last.ckpt"
EPOCH=$(python -c "import torch,sys; print(torch.load(sys.argv[1], weights_only=True)['epoch'])" "$WORK/sigterm/checkpoints/last.ckpt")
"$BIN/flowdiff-train" "${SMALL[@]}" max_epochs=$((EPOCH + 2)) hydra.run.dir="$WORK/sigterm" \
  ckpt_path="$WORK/sigterm/checkpoints/last.ckpt" > "$WORK/resume.log" 2>&1
echo "resume exit code: $?"; grep -o "Restored all states.*" "$WORK/resume.log"
step "$WORK/sigterm/checkpoints/last.ckpt"

for ACTION in stop skip; do
  echo "== 4. NaN injected into the batch of steps 5 and 6 (callbacks.nan_guard.action=$ACTION)"
  "$BIN/flowdiff-train" "${SMALL[@]}" max_epochs=2 hydra.run.dir="$WORK/nan_$ACTION" \
    callbacks.nan_guard.action=$ACTION +callbacks.poison._target_=tests.helpers.faults.PoisonBatch \
    '+callbacks.poison.at_steps=[5,6]' > "$WORK/nan_$ACTION.log" 2>&1
  echo "exit code: $?"
  grep -E "error:|skipped" "$WORK/nan_$ACTION.log" | sed 's/^ *//' | sort -u
  step "$WORK/nan_$ACTION/checkpoints/last.ckpt"
done
