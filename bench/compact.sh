#!/bin/sh
# Compact feature storage on real data: the image and text features of mls
# kept as f32, f16 and int8 (per-row scale), and VBPR trained on each with the
# same seed; reports bytes per item and test Recall@20 / NDCG@20.
set -u
P=${POLYREC:-build/polyrec}
B=$(dirname "$P")
D=${POLYREC_SHARED_DATA:-../shared/data}
[ -f "$D/mls/mls.inter" ] || { echo "bench/compact.sh: $D/mls absent, skipped"; exit 0; }
OUT=build/bench-out/compact
mkdir -p "$OUT"
echo "| storage | bytes/item (image 160-d + text 100-d) | test R@20 | test N@20 |"
echo "|---|---|---|---|"
for kind in f32 f16 int8; do
    bi=$("$B/bench/compact_roundtrip" "$D/mls/image_feat.npy" $kind "$OUT/image_$kind.npy")
    bt=$("$B/bench/compact_roundtrip" "$D/mls/text_feat.npy" $kind "$OUT/text_$kind.npy")
    "$P" fit --data "$D/mls/mls.inter" --model vbpr --features image="$OUT/image_$kind.npy" \
        --features text="$OUT/text_$kind.npy" --json --quiet --out "$OUT/m.model" >"$OUT/$kind.json" || continue
    python3 -c "import json,sys; j=json.load(open('$OUT/$kind.json'))['test']; print('| %s | %d | %.4f | %.4f |' % ('$kind', $bi + $bt, j['recall@20'], j['ndcg@20']))"
done
