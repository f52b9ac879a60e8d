#!/usr/bin/env bash
# The transfer tables of Finetune/README.md: each task's test score for ELMo frozen, ELMo fine-tuned and
# --no-pretrained, at the same head, epochs and seed, with the wall time of each training run.
#
#   bash Finetune/transfer-tables.sh DATA_DIR [WORK_DIR]     (default WORK_DIR: .cache/transfer)
#
# DATA_DIR holds the public datasets below, in these folders (nothing of them is copied into the repository):
#   brown/brown-{train,valid}.txt       Brown corpus (nltk_data packages/corpora/brown.zip), one sentence per line;
#                                       split by file, sorted by name: every 20th file from the 10th is valid, every
#                                       20th from the 20th test, the rest train
#   subjectivity/{train,dev,test}.tsv   Pang & Lee subjectivity v1.0 (nltk_data packages/corpora/subjectivity.zip),
#                                       label<TAB>text, shuffled with seed 13 and split 80/10/10
#   nsmc/derived_ratings_{train,test}.txt.gz
#                                       reviews of github.com/e9t/nsmc's raw/*.json labelled as NSMC does (rating
#                                       1-4 negative, 9-10 positive), 100,000 of each class by Random(1234), 150,000
#                                       train / 50,000 test; gzipped TSV `id<TAB>document<TAB>label` with a header
#   ud_english_ewt/en_ewt-ud-{train,dev,test}.conllu    UD English-EWT (github.com/UniversalDependencies/UD_English-EWT)
#   ud_korean_kaist/ko_kaist-ud-{dev,test}.conllu       UD Korean-Kaist (github.com/UniversalDependencies/UD_Korean-Kaist)
#   conll2002/esp.{train,testa,testb}   CoNLL-2002 Spanish NER (nltk_data packages/corpora/conll2002.zip)
#
# Pre-trains four biLMs (Pretrain/tiny-adam.json; about 1.5 hours on 2 busy cores in all), then runs
# 15 task trainings. Finished steps are skipped when re-run. Results are appended to WORK_DIR/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: bash Finetune/transfer-tables.sh DATA_DIR [WORK_DIR] (see the header for DATA_DIR's layout)" >&2; exit 2; }
DATA_DIR=$(cd "$1" && pwd)
WORK=${2:-.cache/transfer}
swift build -c release --product elmo
ELMO=$PWD/.build/release/elmo
mkdir -p "$WORK/data" "$WORK/runs"
RESULTS=$WORK/results.txt

echo "== data: text for pre-training, task splits (deterministic)"
python3 - "$DATA_DIR" "$WORK/data" <<'EOF'
import gzip, random, sys
data, out = sys.argv[1], sys.argv[2]

def conllu_text(src, dst):
    """FORM of each word line (multiword ranges and empty nodes skipped), one sentence per line."""
    with open(src, encoding='utf-8') as f, open(dst, 'w', encoding='utf-8') as o:
        words = []
        for line in f:
            line = line.rstrip('\n')
            if not line:
                if words: o.write(' '.join(words) + '\n'); words = []
            elif not line.startswith('#'):
                cols = line.split('\t')
                if '-' not in cols[0] and '.' not in cols[0]: words.append(cols[1].replace(' ', '_'))
        if words: o.write(' '.join(words) + '\n')

def conll_text(src, dst):
    """First column of a CoNLL file, one sentence per line."""
    with open(src, encoding='utf-8') as f, open(dst, 'w', encoding='utf-8') as o:
        words = []
        for line in f:
            line = line.strip()
            if not line:
                if words: o.write(' '.join(words) + '\n'); words = []
            elif not line.startswith('-DOCSTART-'):
                words.append(line.split()[0])
        if words: o.write(' '.join(words) + '\n')

conllu_text(f'{data}/ud_english_ewt/en_ewt-ud-train.conllu', f'{out}/ewt-train.txt')
conllu_text(f'{data}/ud_english_ewt/en_ewt-ud-dev.conllu', f'{out}/ewt-dev.txt')
conll_text(f'{data}/conll2002/esp.train', f'{out}/esp-train.txt')
conll_text(f'{data}/conll2002/esp.testa', f'{out}/esp-testa.txt')

# NSMC: biLM on the text of all 150,000 training reviews (labels unused); classifier on 20,000 of them, dev on 5,000
# others (a Random(7) shuffle), test on the whole 50,000-review test split.
header, *rows = gzip.open(f'{data}/nsmc/derived_ratings_train.txt.gz', 'rt', encoding='utf-8').read().splitlines()
with open(f'{out}/nsmc-text.txt', 'w', encoding='utf-8') as o:
    o.writelines(r.split('\t')[1] + '\n' for r in rows)
shuffled = rows[:]
random.Random(7).shuffle(shuffled)
for name, part in (('nsmc-train20k.tsv', shuffled[:20000]), ('nsmc-dev5k.tsv', shuffled[20000:25000])):
    with open(f'{out}/{name}', 'w', encoding='utf-8') as o:
        o.write(header + '\n' + ''.join(r + '\n' for r in part))
test = gzip.open(f'{data}/nsmc/derived_ratings_test.txt.gz', 'rt', encoding='utf-8').read().splitlines()
with open(f'{out}/nsmc-test.tsv', 'w', encoding='utf-8') as o:
    o.write(''.join(r + '\n' for r in test))
with open(f'{out}/nsmc-valid.txt', 'w', encoding='utf-8') as o:
    o.writelines(r.split('\t')[1] + '\n' for r in test[1:2001])

# UD Korean Kaist has no training file here: train on 90 % of its dev file, early-stop on the rest, test on test.
blocks = open(f'{data}/ud_korean_kaist/ko_kaist-ud-dev.conllu', encoding='utf-8').read().strip('\n').split('\n\n')
cut = int(len(blocks) * 0.9)
open(f'{out}/kaist-train.conllu', 'w', encoding='utf-8').write('\n\n'.join(blocks[:cut]) + '\n\n')
open(f'{out}/kaist-dev.conllu', 'w', encoding='utf-8').write('\n\n'.join(blocks[cut:]) + '\n\n')
EOF

D=$WORK/data
pretrain() {  # name epochs pretrain-arguments...
    local name=$1 epochs=$2; shift 2
    [ -f "$WORK/bilm-$name/.complete" ] && return
    echo "== pre-training the $name biLM ($epochs epochs)"
    local resume=(); [ -f "$WORK/bilm-$name/latest" ] && resume=(--resume)
    "$ELMO" pretrain --config Pretrain/tiny-adam.json --output "$WORK/bilm-$name" --max-vocab 20000 --epochs "$epochs" \
        --seed 1 --threads 2 --log-every 200 "$@" "${resume[@]}"
    touch "$WORK/bilm-$name/.complete"
}
pretrain brown 1 --train "$DATA_DIR/brown/brown-train.txt" --valid "$DATA_DIR/brown/brown-valid.txt"
pretrain ewt 3 --train "$DATA_DIR/brown/brown-train.txt" "$D/ewt-train.txt" --valid "$D/ewt-dev.txt"
pretrain nsmc 3 --train "$D/nsmc-text.txt" --valid "$D/nsmc-valid.txt"
pretrain esp 8 --train "$D/esp-train.txt" --valid "$D/esp-testa.txt"

# One task in the three modes: kind (classifier|tagger), name, biLM, train, dev, test, then data options.
table() {
    local kind=$1 name=$2 bilm=$3 train=$4 dev=$5 test=$6; shift 6
    local extra=(--epochs 5 --patience 2 --seed 1 --threads 2)
    [ "$kind" = tagger ] && extra+=(--lr 0.01)
    for mode in frozen finetune no-pretrained; do
        local flags=()
        case $mode in finetune) flags=(--bilm finetune);; no-pretrained) flags=(--no-pretrained);; esac
        local run=$WORK/runs/$name-$mode
        rm -rf "$run"
        local start=$SECONDS
        "$ELMO" finetune "$kind" --checkpoint "$bilm" --train "$train" --dev "$dev" --output "$run" "${extra[@]}" "$@" \
            "${flags[@]}" > "$run.json" 2> "$run.log"
        local wall=$((SECONDS - start)) score
        if [ "$kind" = classifier ]; then
            score=$("$ELMO" evaluate --model "$run" --data "$test" "$@" | grep '^accuracy' | awk '{print "accuracy", $2}')
        else
            score=$("$ELMO" evaluate --model "$run" --data "$test" 2>/dev/null | grep -E '^token accuracy|^accuracy:' | head -1)
        fi
        echo "$name $mode $score train_wall_s $wall" | tee -a "$RESULTS"
    done
}
U=$DATA_DIR
table classifier subjectivity "$WORK/bilm-brown" "$U/subjectivity/train.tsv" "$U/subjectivity/dev.tsv" "$U/subjectivity/test.tsv"
table classifier nsmc "$WORK/bilm-nsmc" "$D/nsmc-train20k.tsv" "$D/nsmc-dev5k.tsv" "$D/nsmc-test.tsv" \
    --header --text-column document --label-column label
table tagger ewt-upos "$WORK/bilm-ewt" "$U/ud_english_ewt/en_ewt-ud-train.conllu" "$U/ud_english_ewt/en_ewt-ud-dev.conllu" \
    "$U/ud_english_ewt/en_ewt-ud-test.conllu"
table tagger kaist-upos "$WORK/bilm-nsmc" "$D/kaist-train.conllu" "$D/kaist-dev.conllu" "$U/ud_korean_kaist/ko_kaist-ud-test.conllu"
table tagger conll2002-esp "$WORK/bilm-esp" "$U/conll2002/esp.train" "$U/conll2002/esp.testa" "$U/conll2002/esp.testb" --format conll
