#!/usr/bin/env bash
# Three stages, ULMFiT style: a general biLM → the same biLM adapted to domain text (`pretrain --init-from`) → a
# classifier on the domain, against a biLM trained from scratch on the domain text for the same steps.
#
#   bash Pretrain/adapt-recipe.sh DATA_DIR [WORK_DIR]        (default WORK_DIR: .cache/adapt-recipe)
#
# DATA_DIR holds two public datasets, as distributed in nltk_data (https://github.com/nltk/nltk_data):
#   brown/brown-{train,valid}.txt     the Brown corpus (packages/corpora/brown.zip), one sentence per line
#   subjectivity/{train,dev,test}.tsv Pang & Lee's subjectivity v1.0 (packages/corpora/subjectivity.zip) as
#                                     label<TAB>sentence, split 8,000 / 1,000 / 1,000
# Nothing of them is copied into the repository. Sizes are kept small (GENERAL_TOKENS, DOMAIN_TOKENS) so that each
# run takes minutes on 2 cores. The domain text is the subjectivity train sentences (labels dropped); the held-out
# domain text is the dev sentences. Results go to WORK_DIR/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: bash Pretrain/adapt-recipe.sh DATA_DIR [WORK_DIR]}
WORK=${2:-.cache/adapt-recipe}
GENERAL_TOKENS=${GENERAL_TOKENS:-300000}
DOMAIN_TOKENS=${DOMAIN_TOKENS:-100000}
THREADS=${THREADS:-2}
ELMO=${ELMO:-$PWD/.build/release/elmo}
[ -x "$ELMO" ] || swift build -c release --product elmo
mkdir -p "$WORK"
RESULTS=$WORK/results.txt
: > "$RESULTS"
cut -f2 "$DATA/subjectivity/train.tsv" > "$WORK/domain-train.txt"
cut -f2 "$DATA/subjectivity/dev.tsv" > "$WORK/domain-heldout.txt"

timed() {  # timed NAME command…: runs it once (skipped when WORK/NAME.done exists), records the wall time
    local name=$1; shift
    if [ ! -e "$WORK/$name.done" ]; then
        local start=$SECONDS
        "$@" > "$WORK/$name.json" 2> "$WORK/$name.log"
        echo "$((SECONDS - start))" > "$WORK/$name.done"
    fi
    echo "$name: $(cat "$WORK/$name.done") s" >> "$RESULTS"
}
ppl() {  # held-out domain perplexity (the file as one stream, as pretrain validates) and its <UNK> share
    "$ELMO" perplexity --checkpoint "$WORK/$1" "$WORK/domain-heldout.txt" --json --threads "$THREADS" \
        | python3 -c "import json,sys; d=json.load(sys.stdin); print('$1: held-out domain perplexity %.2f (fwd %.2f, bwd %.2f, %d tokens)' % (d['mean'], d['forward'], d['backward'], d['tokens']))" >> "$RESULTS"
}

echo "== stage 1: general biLM on Brown ($GENERAL_TOKENS tokens)"
timed general "$ELMO" pretrain --config Pretrain/tiny-adam.json --train "$DATA/brown/brown-train.txt" \
    --valid "$DATA/brown/brown-valid.txt" --max-vocab 10000 --max-tokens "$GENERAL_TOKENS" --validate-every 100000 \
    --output "$WORK/general" --threads "$THREADS" --seed 1
ppl general

echo "== stage 2: adapted to the domain text ($DOMAIN_TOKENS tokens), new softmax rows from char-CNN or mean"
# One step at learning rate 1e-9 leaves the weights as initialised: the initialisation alone.
python3 -c "import json; o=json.load(open('Pretrain/tiny-adam.json')); o['learning_rate']=1e-9; json.dump(o, open('$WORK/init-only.json','w'))"
for init in char-cnn mean; do
    timed "adapted-$init-init" "$ELMO" pretrain --init-from "$WORK/general" --config "$WORK/init-only.json" \
        --train "$WORK/domain-train.txt" --max-vocab 15000 --new-word-init "$init" --max-tokens 1 \
        --output "$WORK/adapted-$init-init" --threads "$THREADS" --seed 1
    ppl "adapted-$init-init"
    timed "adapted-$init" "$ELMO" pretrain --init-from "$WORK/general" --train "$WORK/domain-train.txt" \
        --max-vocab 15000 --new-word-init "$init" --max-tokens "$DOMAIN_TOKENS" --validate-every 100000 \
        --output "$WORK/adapted-$init" --threads "$THREADS" --seed 1
    ppl "adapted-$init"
done
grep -h "^vocabulary:" "$WORK/adapted-char-cnn.log" >> "$RESULTS"
# The general vocabulary unchanged: perplexities then compare with the general model's (same <UNK> targets).
timed adapted-keep "$ELMO" pretrain --init-from "$WORK/general" --train "$WORK/domain-train.txt" --vocab-mode keep \
    --max-tokens "$DOMAIN_TOKENS" --validate-every 100000 --output "$WORK/adapted-keep" --threads "$THREADS" --seed 1
ppl adapted-keep
grep -h "^vocabulary:" "$WORK/adapted-keep.log" >> "$RESULTS"

echo "== baseline: the same steps from scratch on the domain text, with each adapted model's vocabulary"
timed scratch "$ELMO" pretrain --config Pretrain/tiny-adam.json --train "$WORK/domain-train.txt" \
    --vocab "$WORK/adapted-char-cnn/vocab.txt" --max-tokens "$DOMAIN_TOKENS" --validate-every 100000 \
    --output "$WORK/scratch" --threads "$THREADS" --seed 1
ppl scratch
timed scratch-keep "$ELMO" pretrain --config Pretrain/tiny-adam.json --train "$WORK/domain-train.txt" \
    --vocab "$WORK/general/vocab.txt" --max-tokens "$DOMAIN_TOKENS" --validate-every 100000 \
    --output "$WORK/scratch-keep" --threads "$THREADS" --seed 1
ppl scratch-keep

echo "== stage 3: subjectivity classifier (frozen biLM) on each"
for bilm in general adapted-char-cnn scratch; do
    timed "classifier-$bilm" "$ELMO" finetune classifier --checkpoint "$WORK/$bilm" --train "$DATA/subjectivity/train.tsv" \
        --dev "$DATA/subjectivity/dev.tsv" --output "$WORK/classifier-$bilm" --epochs 5 --patience 2 --seed 1 --threads "$THREADS"
    "$ELMO" evaluate --model "$WORK/classifier-$bilm" --data "$DATA/subjectivity/test.tsv" --json \
        | python3 -c "import json,sys; d=json.load(sys.stdin); print('classifier-$bilm: test accuracy %.4f' % d['accuracy'])" >> "$RESULTS"
done

echo "== throughput: elmo score vs elmo embed on the held-out domain text"
timed score "$ELMO" score --checkpoint "$WORK/adapted-char-cnn" "$WORK/domain-heldout.txt" --threads "$THREADS"
timed embed "$ELMO" embed --checkpoint "$WORK/adapted-char-cnn" --input "$WORK/domain-heldout.txt" \
    --output "$WORK/heldout.hdf5" --overwrite --threads "$THREADS"
tail -n 1 "$WORK/score.log" | sed 's/^/score: /' >> "$RESULTS"
python3 -c "import json; d=json.load(open('$WORK/embed.json')); print('embed: %d sentences, %d tokens in %.1f s (%.0f tokens/s)' % (d['sentences'], d['tokens'], d['seconds'], d['tokens_per_s']))" >> "$RESULTS"
cat "$RESULTS"
