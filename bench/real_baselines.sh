#!/bin/sh
# Baselines on real data (skipped when ../shared/data is absent): MostPop, ItemKNN
# and BPR-MF on mls (MMRec's format and split), raw ml-latest-small (polyrec's
# own split) and Amazon Baby (the file's split). Hyper-parameters were chosen on
# validation Recall@20 (see BENCHMARKS.md); the test split is only reported.
set -u
P=${POLYREC:-build/polyrec}
D=${POLYREC_SHARED_DATA:-../shared/data}
[ -d "$D" ] || { echo "bench/real_baselines.sh: $D absent, skipped"; exit 0; }
OUT=build/bench-out
mkdir -p "$OUT"

row() { # name dataset-label json-file
    python3 - "$@" <<'PY'
import json, sys
name, label, path = sys.argv[1:4]
j = json.load(open(path)); t = j["test"]; v = j["valid"]
print("| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %d / %d | %.3f | %.2f | %.0f | %.0f |" % (
    label, name, v["recall@20"], t["recall@10"], t["recall@20"], t["ndcg@10"], t["ndcg@20"],
    j["best_epoch"], j["epochs"], j["seconds_per_epoch"], j["train_seconds"],
    t["users"] / max(j["test_eval_seconds"], 1e-9), j["peak_rss_mib"]))
PY
}

echo "| data | model | valid R@20 | test R@10 | test R@20 | test N@10 | test N@20 | best / run epochs | s/epoch | train s | eval users/s | peak MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
run() { # label model data-flags... -- extra flags
    label=$1; model=$2; shift 2
    f="$OUT/$label-$model.json"
    if $P fit "$@" --model "$model" --json --quiet --out "$OUT/m.model" >"$f"; then row "$model" "$label" "$f"
    else echo "| $label | $model | failed | | | | | | | | | |"; fi
}
MLS="--data $D/mls/mls.inter"
ML="--data $D/ml-latest-small/ratings.csv --min-rating 4 --kcore 5"
BABY="--data $D/amazon-baby/baby.inter"
for m in mostpop itemknn; do run mls $m $MLS; done
run mls bprmf $MLS ${BPR_MLS_FLAGS:-}
for m in mostpop itemknn; do run ml-latest-small $m $ML; done
run ml-latest-small bprmf $ML ${BPR_MLS_FLAGS:-}
for m in mostpop itemknn; do run baby $m $BABY; done
run baby bprmf $BABY ${BPR_BABY_FLAGS:-}
