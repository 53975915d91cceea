#!/bin/sh
# `make demo`: the fashion-shop story (docs/demo.md).
#
# 1. Generates the shop if absent (build/demo/shopgen: Fashion-MNIST
#    silhouettes painted with colours and patterns, descriptions, shoppers with
#    hidden tastes; the newest 10% of items arrive after training).
# 2. Trains, on the purchases made before the new items arrived, ID-only
#    BPR-MF and every multimodal and graph model this build has (`polyrec
#    models`), with the built-in image and text encoders on the photos and
#    descriptions; an absent model is skipped and listed as such.
# 3. Places the new items with each model's item tower and measures cold
#    Recall/NDCG (build/demo/shopeval).
# 4. Tells the story of maya, who likes red floral dresses: her top 10 before,
#    the new red floral dress added with `polyrec add-item`, her top 10 after.
# 5. Prints the comparison and writes demo-out/report.html (build/demo/report).
#
# Environment (all optional): DEMO_OUT (demo-out), DEMO_SEED (7), DEMO_ITEMS
# (3000), DEMO_USERS (1000), DEMO_EPOCHS (60), DEMO_PATIENCE (8),
# DEMO_THREADS (all cores), DEMO_MODELS (the models to try, in order),
# POLYREC (build/polyrec), DEMO_BIN (build/demo). The MovieLens example is
# scripts/demo-movielens.sh.
set -eu
cd "$(dirname "$0")/.."
P=${POLYREC:-build/polyrec}
BIN=${DEMO_BIN:-build/demo}
OUT=${DEMO_OUT:-demo-out}
SEED=${DEMO_SEED:-7}
ITEMS=${DEMO_ITEMS:-3000}
USERS=${DEMO_USERS:-1000}
EPOCHS=${DEMO_EPOCHS:-60}
PATIENCE=${DEMO_PATIENCE:-8}
MODELS=${DEMO_MODELS:-bprmf vbpr concat attention lightgcn freedom}
THREADS=${DEMO_THREADS:-}
SHOP=$OUT/shop
RES=$OUT/results
MOD=$OUT/models

now() { cut -d' ' -f1 /proc/uptime 2>/dev/null || date +%s; }
T0=$(now)
stamp() { awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "[%5.1fs]", b - a }'; }
say() { echo "$(stamp) $*"; }
TTY=0
[ -t 1 ] && TTY=1

for b in "$P" "$BIN/shopgen" "$BIN/shopeval" "$BIN/report"; do
    [ -x "$b" ] || { echo "demo: $b is missing; run 'make demo' (it builds everything first)" >&2; exit 1; }
done
echo "== polyrec demo: a fashion shop whose new items have photos and descriptions, but no purchases"

# ---- 1. the shop ---------------------------------------------------------------------------
want="generator=3 seed=$SEED items=$ITEMS users=$USERS"
have=""
[ -f "$SHOP/shop.txt" ] && have=$(awk -F= '$1 == "generator" || $1 == "seed" || $1 == "items" || $1 == "users" { printf "%s%s=%s", (n++ ? " " : ""), $1, $2 }' "$SHOP/shop.txt")
if [ "$have" != "$want" ]; then
    say "generating the shop ($ITEMS items, $USERS shoppers, seed $SEED) into $SHOP"
    rm -rf "$SHOP"
    "$BIN/shopgen" --out "$SHOP" --seed "$SEED" --items "$ITEMS" --users "$USERS" ${THREADS:+--threads "$THREADS"} | sed 's/^/         /'
else
    say "shop: $SHOP ($want) already generated"
fi
kv() { awk -F= -v k="$1" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$SHOP/shop.txt"; }
SHOPPER=$(kv shopper)
DRESS=$(kv dress)
DRESS_TEXT=$(kv dress_text)

# ---- 2. training -----------------------------------------------------------------------------
rm -rf "$RES" "$MOD"
mkdir -p "$RES" "$MOD"
: >"$RES/models.txt"
available=$("$P" models | awk '{ print $1 }')
HAS_ADD_ITEM=0
"$P" add-item --help >/dev/null 2>&1 && HAS_ADD_ITEM=1

COMMON="--data $SHOP/warm.tsv --seed $SEED --dim 64 --epochs $EPOCHS --patience $PATIENCE ${THREADS:+--threads $THREADS}"
CONTENT="--items $SHOP/items.tsv --encoder image=image:parts=color,hog,lbp,layout,size=48 --preproc image=zscore,pca=64 --preproc text=l2"

kind_of() {
    case $1 in
    bprmf | mostpop | itemknn) echo id ;;
    lightgcn) echo graph ;;
    freedom | lattice | mmgcn) echo graph+mm ;;
    *) echo content ;;
    esac
}

# fit's progress lines -> one line per model, redrawn in place on a terminal
progress() {
    awk -v tty="$TTY" -v m="$1" '
        /^epoch/ {
            line = sprintf("         %-10s epoch %3d  loss %s  valid recall@20 %s", m, $2, $4, $10)
            if (tty) { printf "\r%s", line; fflush() } else if ($2 % 10 == 0) print line
            next
        }
        /early stop/ { if (tty) printf "\r\033[K"; print "         " m " " $0; next }
        /^encoder [a-z-]+: / { if (tty) printf "\r\033[K"; print "         " m " " $0; next }
        END { if (tty) printf "\r\033[K" }'
}

for m in $MODELS; do
    kind=$(kind_of "$m")
    if ! echo "$available" | grep -qx "$m"; then
        printf '%s\t%s\t%s\n' "$m" "$kind" "absent from this build" >>"$RES/models.txt"
        say "$m: not in this build (polyrec models), skipped"
        continue
    fi
    mkdir -p "$RES/$m"
    # learning rates chosen on validation Recall@20 of the default shop: BPR-MF
    # overfits this sparse log within a few epochs at 0.01
    flags="$COMMON --lr 0.01 --batch 1024"
    [ "$m" = bprmf ] && flags="$COMMON --lr 0.002 --batch 512"
    case $kind in content | graph+mm) flags="$flags $CONTENT" ;; esac
    # model keys chosen on another shop (seed 8), by validation Recall@20 and by cold Recall@20
    # among all items (docs/demo.md): VBPR drops the ID part of half the items in a batch
    # (DropoutNet's idea), so its tower learns to stand on content alone; attention fusion
    # without weight decay, which shrank its content projections below the ID embeddings
    case $m in
    vbpr) flags="$flags --param drop_id=0.5" ;;
    attention) flags="$flags --param wd=0" ;;
    esac
    say "training $m ($kind)"
    # fit's stdout (JSON) to fit.json, its progress through the filter; status kept in rc
    { "$P" fit $flags --model "$m" --out "$MOD/$m.model" --json --log-json "$RES/$m/epochs.jsonl" \
        2>&1 >"$RES/$m/fit.json"; echo $? >"$RES/$m/rc"; } | tee "$RES/$m/fit.log" | progress "$m"
    if [ "$(cat "$RES/$m/rc")" != 0 ]; then
        msg=$(grep -E '^polyrec' "$RES/$m/fit.log" | tail -n 1)
        printf '%s\t%s\t%s\n' "$m" "$kind" "training failed: ${msg:-see $RES/$m/fit.log}" >>"$RES/models.txt"
        rm -f "$RES/$m/fit.json"
        say "$m: training failed: ${msg:-see $RES/$m/fit.log}"
        continue
    fi
    printf '%s\t%s\t%s\n' "$m" "$kind" trained >>"$RES/models.txt"
    awk -v m="$m" '{
        match($0, /"best_epoch": [0-9]+/); b = substr($0, RSTART + 14, RLENGTH - 14)
        match($0, /"epochs": [0-9]+/); e = substr($0, RSTART + 10, RLENGTH - 10)
        match($0, /"train_seconds": [0-9.]+/); s = substr($0, RSTART + 17, RLENGTH - 17)
        t = $0; sub(/.*"test": /, "", t); match(t, /"recall@20": [0-9.]+/); r = substr(t, RSTART + 13, RLENGTH - 13)
        printf "         %-10s best epoch %s of %s, %.1fs; warm test recall@20 %s\n", m, b, e, s, r }' "$RES/$m/fit.json"
done

# ---- 3. cold evaluation ------------------------------------------------------------------------
# her top 10 under each model first: the modality weights are computed for all of them
for m in $(awk -F'\t' '$3 == "trained" { print $1 }' "$RES/models.txt"); do
    "$P" recommend --model "$MOD/$m.model" --user "$SHOPPER" --k 10 --json >"$RES/$m/before.json" 2>/dev/null ||
        rm -f "$RES/$m/before.json"
done
cat "$RES"/*/before.json 2>/dev/null | grep -o '"item": "[^"]*"' | cut -d'"' -f4 | sort -u >"$RES/story-items.txt"
for m in $(awk -F'\t' '$3 == "trained" { print $1 }' "$RES/models.txt"); do
    say "placing the $(kv new_items) new items with $m and ranking them (cold evaluation)"
    after=""
    [ "$HAS_ADD_ITEM" = 1 ] || after="$RES/$m/after.json"
    if ! "$BIN/shopeval" --model "$MOD/$m.model" --shop "$SHOP" --out "$RES/$m" ${THREADS:+--threads "$THREADS"} \
        ${after:+--after-json "$after"} --weights-for "$RES/story-items.txt" 2>"$RES/$m/shopeval.log"; then
        say "$m: $(cat "$RES/$m/shopeval.log")"
    fi
done

# ---- 4. the story ------------------------------------------------------------------------------
say "the story: $SHOPPER, her top 10 before and after the new dress $DRESS (\"$DRESS_TEXT\") arrives"
[ "$HAS_ADD_ITEM" = 1 ] && echo "         \$ polyrec add-item --model $MOD/MODEL.after.model --id $DRESS --image $SHOP/images/$DRESS.png --text \"$DRESS_TEXT\""
for m in $(awk -F'\t' '$3 == "trained" { print $1 }' "$RES/models.txt"); do
    [ -f "$RES/$m/before.json" ] || continue
    if [ "$HAS_ADD_ITEM" = 1 ]; then
        cp "$MOD/$m.model" "$MOD/$m.after.model"
        if "$P" add-item --model "$MOD/$m.after.model" --id "$DRESS" --image "$SHOP/images/$DRESS.png" \
            --text "$DRESS_TEXT" >"$RES/$m/add-item.txt" 2>&1; then
            "$P" recommend --model "$MOD/$m.after.model" --user "$SHOPPER" --k 10 --json >"$RES/$m/after.json"
        else
            cp "$RES/$m/before.json" "$RES/$m/after.json" # the model could not take the new item
        fi
        printf '         %-10s %s\n' "$m" "$(sed -e 's/^polyrec add-item: //' -e "s|^$MOD/$m.after.model: ||" "$RES/$m/add-item.txt" | head -n 1)"
    elif [ -f "$RES/$m/after.json" ]; then
        echo "this polyrec has no add-item command yet: build/demo/shopeval placed the dress in-process through the same pipeline and item tower" >"$RES/$m/add-item.txt"
    fi
done

# the fused models' part weights of trained items, ID included (`polyrec explain --item`), for
# her history and her top 10; an item added after training has none (the report then shows
# what its content alone gives)
if "$P" explain --help >/dev/null 2>&1; then
    for m in $(awk -F'\t' '$3 == "trained" { print $1 }' "$RES/models.txt"); do
        ids=$({ awk -F'\t' -v u="$SHOPPER" '$1 == u { print $2 }' "$SHOP/warm.tsv"
            cat "$RES/$m/before.json" "$RES/$m/after.json" 2>/dev/null | grep -o '"item": "[^"]*"' | cut -d'"' -f4; } | sort -u)
        first=$(echo "$ids" | head -n 1)
        "$P" explain --model "$MOD/$m.model" --item "$first" --json 2>/dev/null | grep -q '"weights": {' || continue
        printf 'item\tjson\n' >"$RES/$m/explain.tsv"
        for id in $ids; do
            j=$("$P" explain --model "$MOD/$m.model" --item "$id" --json 2>/dev/null) || continue
            case $j in *'"weights": {'*) printf '%s\t%s\n' "$id" "$j" >>"$RES/$m/explain.tsv" ;; esac
        done
        [ "$(wc -l <"$RES/$m/explain.tsv")" -gt 1 ] || rm -f "$RES/$m/explain.tsv"
    done
fi

# ---- 5. comparison and report ------------------------------------------------------------------
secs=$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
printf 'seconds=%s\nthreads=%s\nadd_item=%s\n' "$secs" "${THREADS:-$(nproc 2>/dev/null || echo all)}" "$HAS_ADD_ITEM" >"$RES/run.txt"
"$BIN/report" --out "$OUT"
# the new dress's score for her, split by part (ID, image, text): polyrec explain
for m in attention concat vbpr; do
    [ -f "$MOD/$m.after.model" ] || continue
    "$P" explain --model "$MOD/$m.after.model" --user "$SHOPPER" --item "$DRESS" >"$RES/story-explain.txt" 2>/dev/null || continue
    echo
    say "her score for the new dress, split by part: polyrec explain --model $m.after.model --user $SHOPPER --item $DRESS"
    sed -n 1,3p "$RES/story-explain.txt" | sed 's/^/         /'
    break
done
echo
say "done; the report is $OUT/report.html (open it in any browser)"
