#!/bin/bash
# Train a raw-audio preset on one rendered song, generate two 20 s samples from its kept checkpoint and
# evaluate them against noise and the song (issue 18). Songs: python benchmarks/make_songs.py $SONGS.
# usage: benchmarks/audio_songs.sh FAMILY PRESET CORPUS RUN_DIR [STEPS] [generate options...]
# e.g.   benchmarks/audio_songs.sh lstm-vae configs/lstm_vae/default.yaml song-rag runs/vae-rag
set -euo pipefail
family=$1; preset=$2; corpus=$3; run=$4; steps=${5:-}; shift $(( $# < 5 ? $# : 5 ))
export COMPOSER_CORPUS_ROOT=${SONGS:-/tmp/songs}/corpora
start=$(date +%s)
composer train "$family" --corpus "$corpus" --config "$preset" --out "$run" ${steps:+--steps $steps} > "$run.train.log"
echo "training minutes: $(( ($(date +%s) - start) / 60 ))"
mkdir -p "$run-eval/gen"
composer generate "$run" --out "$run-eval/gen/sample.wav" --seconds 20 --num 2 --seed 0 "$@"
composer evaluate "$run" --generated "$run-eval/gen" --out "$run-eval" --json | python -c '
import json, sys
m = json.load(sys.stdin)
print(json.dumps({k: m.get(k) for k in ("eval_loss", "baseline_eval_loss", "eval_bits_per_sample",
      "baseline_bits_per_sample", "audio_ratios", "full_scale_share", "noise_flat_share")}, indent=1))'
