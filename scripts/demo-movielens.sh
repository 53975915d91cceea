#!/bin/sh
# The MovieLens example (scripts/demo.sh is the fashion-shop demo of `make demo`):
# train and compare the baselines on the embedded MovieLens
# latest-small (ratings >= 4 as positives, 5-core, per-user random 8:1:1 split),
# then show one user's recommendations and a film's neighbours with titles.
set -eu
cd "$(dirname "$0")/.."
P=build/polyrec
DATA=data/ml-latest-small/ratings.csv
OUT=${DEMO_OUT:-demo-out/movielens}
mkdir -p "$OUT"
FLAGS="--data $DATA --min-rating 4 --kcore 5 --seed 999"

title() { # movieId -> title from movies.csv (first field id, then a possibly quoted title)
    awk -F, -v id="$1" 'NR > 1 && $1 == id { sub(/^[^,]*,/, ""); sub(/,[^,]*$/, ""); gsub(/"/, ""); print; exit }' data/ml-latest-small/movies.csv
}

echo "== polyrec demo: MovieLens latest-small, full-ranking test metrics"
printf '%-8s %9s %9s %9s %9s %10s\n' model recall@10 recall@20 ndcg@20 epochs train_s
for m in mostpop itemknn bprmf; do
    $P fit $FLAGS --model $m --out "$OUT/$m.model" --json --quiet >"$OUT/$m.json"
    python3 - "$OUT/$m.json" "$m" <<'PY' 2>/dev/null || awk -v m="$m" '{print m, $0}' "$OUT/$m.json"
import json, sys
j = json.load(open(sys.argv[1])); t = j["test"]
print("%-8s %9.4f %9.4f %9.4f %9d %10.2f" % (sys.argv[2], t["recall@10"], t["recall@20"], t["ndcg@20"], j["epochs"], j["train_seconds"]))
PY
done

echo
echo "== top 10 for user 1 (bprmf), training items excluded"
$P recommend --model "$OUT/bprmf.model" --user 1 --k 10 | tail -n +2 | while read -r rank item score; do
    printf '%3s  %-60s %s\n' "$rank" "$(title "$item")" "$score"
done
echo
echo "== films most similar to Toy Story (1995) (bprmf item vectors, cosine)"
$P similar --model "$OUT/bprmf.model" --item 1 --k 5 | tail -n +2 | while read -r rank item score; do
    printf '%3s  %-60s %s\n' "$rank" "$(title "$item")" "$score"
done
