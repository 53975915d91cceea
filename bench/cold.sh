#!/bin/sh
# Cold start on mls-cold (20% of the items held out of training entirely; half
# of them give the validation rows, half the test rows): Recall@20 / NDCG@20 of
# the held-out test items ranked among all items (cold_all, the realistic case)
# and among the held-out test items only (cold_only, CLCRec's protocol), for
# every model registered in this build, with the reference features
# (image_feat.npy + text_feat.npy), and with polyrec's own encoders on items.tsv.
# Each (features, model) has a small grid; the row kept is the one with the
# best validation Recall@20 (valid rows are cold items only, so that is
# cold_all on validation); test is only reported: metricknn's grid (kNN
# blend weight x modality weights) is chosen the same way. Skipped when the data is
# absent. Also times add-item. Usage: bench/cold.sh [quick]  (THREADS=2)
set -u
P=${POLYREC:-build/polyrec}
D=${POLYREC_SHARED_DATA:-../shared/data}/mls-cold
[ -f "$D/mls-cold.inter" ] || { echo "bench/cold.sh: $D absent, skipped"; exit 0; }
OUT=build/bench-cold
mkdir -p "$OUT"
T=${THREADS:-2}
DATA="--data $D/mls-cold.inter --threads $T"
DATA="$DATA --epochs ${EPOCHS:-300}"
DATA5="--data $D/mls-cold.inter --threads $T --epochs 5"
REF="--features text=$D/text_feat.npy --features image=$D/image_feat.npy"
TXT="--features text=$D/text_feat.npy"
OWN="--items $D/items.tsv"
have() { $P models | grep -q "^  $1 "; }

# run LABEL FEATURES-NAME MODEL "KEYS" flags...: one fit, its JSON kept as $OUT/LABEL.json
run() {
    label=$1; feats=$2; model=$3; keys=$4; shift 4
    have "$model" || return 0
    params=""
    for kv in $keys; do params="$params --param $kv"; done
    if $P fit $DATA --model "$model" $params "$@" --json --quiet --out "$OUT/m.model" >"$OUT/$label.json" 2>"$OUT/$label.log"; then
        echo "$feats	$model	${keys:--}	$OUT/$label.json" >>"$OUT/runs.tsv"
    else
        echo "bench/cold.sh: $label failed: $(tail -1 "$OUT/$label.log")" >&2
    fi
}

: >"$OUT/runs.tsv"
run mostpop none mostpop ""
run bpr-id none bprmf "mapper=none" --lr 0.005
for lr in 0.001 0.005; do
    run bpr-ridge-ref-$lr ref bprmf "mapper=ridge" --lr $lr $REF
    run bpr-mlp-ref-$lr ref bprmf "mapper=mlp" --lr $lr $REF
done
run ckn-txt text contentknn "" $TXT
run ckn-ref ref contentknn "" $REF
run ckn-own own contentknn "" $OWN
# content kNN with a learned metric (models/metricknn.c): grid over the
# snapshot's kNN blend weight and the modality weights (text, image)
for k in 0 0.5 1 2; do
    run mknn-ref-$k ref metricknn "knn=$k" $REF
    run mknn-ref-$k-w25 ref metricknn "knn=$k mod_w=1,0.25" $REF
done
# (own: the image descriptor is 1,516-d; M is D x D, so PCA to 128 first)
for k in 0 1; do run mknn-own-$k own metricknn "knn=$k" $OWN --preproc image=pca=128; done
run bpr-ridge-own own bprmf "mapper=ridge" --lr 0.005 $OWN
run bpr-mlp-own own bprmf "mapper=mlp" --lr 0.005 $OWN
if [ "${1:-}" != quick ]; then
    for m in vbpr concat attention; do
        for drop in 0 0.5; do
            run $m-ref-$drop ref $m "drop_id=$drop" $REF
            run $m-own-$drop own $m "drop_id=$drop" $OWN
        done
    done
    run lightgcn-ridge ref lightgcn "mapper=ridge" $REF
    run freedom-ridge ref freedom "mapper=ridge" $REF
    run freedom-tower ref freedom "" $REF
fi

python3 - "$OUT/runs.tsv" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    feats, model, keys, path = line.rstrip("\n").split("\t")
    j = json.load(open(path))
    g = lambda k, m: j.get(k, {}).get(m, float("nan"))
    rows.append((feats, model, keys, j["valid"]["recall@20"], g("cold_all", "recall@20"), g("cold_all", "ndcg@20"),
                 g("cold_only", "recall@20"), g("cold_only", "ndcg@20"), j.get("cold_share@20", float("nan")),
                 j["best_epoch"], j["train_seconds"]))
head = ("| features | model | keys | valid R@20 | cold_all R@20 | cold_all N@20 | cold_only R@20 | cold_only N@20 "
        "| cold share of top 20 | best epoch | train s |\n|---|---|---|---|---|---|---|---|---|---|---|")
fmt = "| %s | %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.3f | %d | %.1f |"
print("## Cold start on mls-cold: every run\n\n" + head)
for r in rows: print(fmt % r)
best = {}
for r in rows:
    k = (r[0], r[1], r[2].split()[0].split("=")[0] == "mapper" and r[2] or "")
    if k not in best or r[3] > best[k][3]: best[k] = r
print("\n## Cold start on mls-cold: kept by validation Recall@20\n\n" + head)
for r in sorted(best.values(), key=lambda r: -r[4]): print(fmt % r)
PY

# fashion-products: simulated shoppers over real photos and descriptions. Each
# shopper's taste is the (colour, article type, usage) of a random product;
# she buys 12 products drawn with weight exp(1.5 x attributes matched). 20% of
# the products are held out of training (cold-items split); the held-out ones
# must reach the shoppers whose taste they match.
F=${POLYREC_SHARED_DATA:-../shared/data}/fashion-products
if [ -f "$F/styles.csv" ] && [ "${1:-}" != quick ]; then
    FO="$OUT/fashion"
    mkdir -p "$FO"
    python3 - "$F" "$FO" <<'PY'
import csv, math, os, random, sys
src, out = sys.argv[1], sys.argv[2]
rows = [r for r in csv.DictReader(open(os.path.join(src, "styles.csv"))) if os.path.exists(os.path.join(src, "images", r["id"] + ".jpg"))]
with open(os.path.join(out, "items.tsv"), "w") as f:
    f.write("item\timage\ttext\n")
    for r in rows:
        f.write("%s\t%s\t%s\n" % (r["id"], os.path.abspath(os.path.join(src, "images", r["id"] + ".jpg")), r["productDisplayName"]))
rng = random.Random(7)
keys = ("baseColour", "articleType", "usage")
with open(os.path.join(out, "inter.csv"), "w") as f:
    f.write("user,item\n")
    for s in range(400):
        taste = rng.choice(rows)
        w = [math.exp(1.5 * sum(r[k] == taste[k] for k in keys)) for r in rows]
        got = set()
        while len(got) < 12:
            got.add(rng.choices(range(len(rows)), weights=w)[0])
        for i in sorted(got): f.write("s%d,%s\n" % (s, rows[i]["id"]))
PY
    : >"$OUT/runs-fashion.tsv"
    frun() { # label model keys flags...
        label=$1; model=$2; keys=$3; shift 3
        have "$model" || return 0
        params=""
        for kv in $keys; do params="$params --param $kv"; done
        if $P fit --data "$FO/inter.csv" --split cold-items:0.2 --threads $T --epochs ${EPOCHS:-300} --model "$model" $params "$@" \
            --json --quiet --out "$OUT/f.model" >"$OUT/f-$label.json" 2>"$OUT/f-$label.log"; then
            echo "fashion	$model	${keys:--}	$OUT/f-$label.json" >>"$OUT/runs-fashion.tsv"
        else
            echo "bench/cold.sh: fashion $label failed: $(tail -1 "$OUT/f-$label.log")" >&2
        fi
    }
    frun mostpop mostpop ""
    frun bpr-id bprmf "mapper=none" --lr 0.005
    frun bpr-ridge bprmf "mapper=ridge" --lr 0.005 --items "$FO/items.tsv"
    frun bpr-mlp bprmf "mapper=mlp" --lr 0.005 --items "$FO/items.tsv"
    frun ckn contentknn "" --items "$FO/items.tsv"
    for m in vbpr concat attention; do frun $m $m "drop_id=0.5" --items "$FO/items.tsv"; done
    frun metricknn metricknn "" --items "$FO/items.tsv" --preproc image=pca=128
    python3 - "$OUT/runs-fashion.tsv" <<'PY'
import json, sys
print("\n## Cold start on fashion-products (simulated shoppers, 20% of products held out)\n")
print("| model | keys | valid R@20 | cold_all R@20 | cold_only R@20 | random cold_only R@20 | cold share of top 20 |\n|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    _, model, keys, path = line.rstrip("\n").split("\t")
    j = json.load(open(path))
    print("| %s | %s | %.4f | %.4f | %.4f | %.4f | %.3f |" % (model, keys, j["valid"]["recall@20"], j["cold_all"]["recall@20"],
          j["cold_only"]["recall@20"], min(1.0, 20.0 / j["cold_only_candidates"]), j["cold_share@20"]))
PY
fi

# add-item: one process per item (open, encode, tower, atomic rewrite), then a batch
M="$OUT/add.model"
if $P fit $DATA5 --model bprmf --lr 0.005 $OWN --quiet --out "$M" >/dev/null 2>&1; then
    n=${ADD_N:-50}
    t0=$(date +%s.%N)
    i=0
    while [ $i -lt $n ]; do
        $P add-item --model "$M" --id "new-$i" --image "$D/../ml-posters/1.jpg" --text "new movie $i. Comedy. fun" >/dev/null || break
        i=$((i + 1))
    done
    t1=$(date +%s.%N)
    printf 'item\ttext\n' >"$OUT/batch.tsv"
    i=0
    while [ $i -lt 1000 ]; do printf 'batch-%d\tbatch movie %d. Drama, Romance. love\n' $i $i >>"$OUT/batch.tsv"; i=$((i + 1)); done
    j=$($P add-item --model "$M" --items "$OUT/batch.tsv" --json)
    echo
    echo "## add-item on a BPR-MF + mapper model of mls-cold with polyrec's encoders ($(stat -c %s "$M") bytes)"
    echo
    python3 - "$t0" "$t1" "$n" "$j" <<'PY'
import json, sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]); j = json.loads(sys.argv[4])
print("| what | time |\n|---|---|")
print("| `polyrec add-item` (image + text), one process per item, %d items | %.1f ms per item |" % (n, (t1 - t0) * 1e3 / n))
print("| `polyrec add-item --items` (text), 1,000 items in one write | %.1f ms encoding + %.1f ms writing = %.3f ms per item |"
      % (j["encode_ms"], j["write_ms"], (j["encode_ms"] + j["write_ms"]) / j["added"]))
PY
fi
