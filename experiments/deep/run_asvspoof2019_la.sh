#!/usr/bin/env bash
# The seed's table on ASVspoof 2019 LA: {simple-ann, simple-cnn, resnet101} x {mel, mfcc, lfcc, chroma},
# plus lstm and conv1d-lstm on MFCCs.
#
# Needs the corpus (Edinburgh DataShare 10283/3336), unpacked so that LA_ROOT holds
#   ASVspoof2019_LA_train/flac, ASVspoof2019_LA_dev/flac, ASVspoof2019_LA_eval/flac and
#   ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.{train.trn,dev.trl,eval.trl}.txt
# Roles: train -> training, dev -> early stopping / best epoch, eval -> reported metrics.
#
#   LA_ROOT=/data/LA RUNS=runs/la19-deep bash experiments/deep/run_asvspoof2019_la.sh [CONFIG...]
#
# With no CONFIG, every experiments/deep/configs/*.args runs in turn. Features are cached in
# $CACHE (one pass over the 121,461 files per feature configuration); a GPU is strongly advised
# (--device auto picks CUDA; AMP on). After the runs: dfaudio compare "$RUNS"
set -euo pipefail
: "${LA_ROOT:?set LA_ROOT to the ASVspoof 2019 LA folder}"
RUNS=${RUNS:-runs/la19-deep}
CACHE=${CACHE:-${HOME}/.cache/dfaudio/timefreq}
WORKERS=${WORKERS:-8}
HERE=$(cd "$(dirname "$0")" && pwd)
PROTO="$LA_ROOT/ASVspoof2019_LA_cm_protocols"

configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then configs=("$HERE"/configs/*.args); fi
for cfg in "${configs[@]}"; do
  mapfile -t args < <(grep -v '^#' "$cfg" | tr ' ' '\n' | sed '/^$/d')
  echo "== $(basename "$cfg" .args)"
  dfaudio fit-deep "${args[@]}" \
    --data "$LA_ROOT" --layout asvspoof \
    --protocol "$PROTO/ASVspoof2019.LA.cm.train.trn.txt" \
    --protocol "$PROTO/ASVspoof2019.LA.cm.dev.trl.txt" \
    --protocol "$PROTO/ASVspoof2019.LA.cm.eval.trl.txt" \
    --device auto --amp --workers "$WORKERS" --cache-dir "$CACHE" --runs-dir "$RUNS"
done
dfaudio compare "$RUNS"
