# The GPU checks of issue 29 (item 6), as one script for a lent GPU machine:
# time to 99.0% on MNIST against train_mnist_fast, Fashion-MNIST to 94%
# within 60 s, a GAN epoch and word2vec's words per second.
#
#     KERASDL_DATA_DIR=... bash benchmarks/gpu_records.sh OUT [--dry-run]
#
# Writes OUT/log.txt and each run's metrics as OUT/NAME.json. With
# --dry-run (to check it on a CPU), tiny runs. Each step has a time limit,
# so that the whole script ends within about 550 s.
set -u
out=$1
dry=${2:-}
quick=$([ "$dry" = --dry-run ] && echo --quick)
runs=$(mktemp -d)
export PYTHONUNBUFFERED=1
exec > >(tee "$out/log.txt") 2>&1

KERAS_BACKEND=jax python3 -c "import jax, keras, torch
print('jax', jax.__version__, jax.devices())
print('torch', torch.__version__, 'keras', keras.__version__)"
nvidia-smi -L 2>/dev/null

step() {  # step NAME SECONDS ARGS...: a timed `kerasdl run`, its metrics kept
    local name=$1 limit=$2
    shift 2
    echo "== $name: kerasdl run $*"
    timeout "$limit" python3 -m kerasdl run "$@" --output-dir "$runs/$name" $dry \
        && cp "$runs/$name/metrics.json" "$out/$name.json"
}

timeout 260 python3 benchmarks/mnist_fast.py --budget 200 --root "$runs" $quick
cp "$runs/mnist_fast.jsonl" "$out/" 2>/dev/null
step fashion-jax 90 classification --dataset fashion_mnist --backend jax
step gan-jax 90 gan --epochs 2 --backend jax
# The first 2.5 MB of brown.txt (438k words): all of it would not fit in
# the 64 MiB that the device tool carries.
corpus=$KERASDL_DATA_DIR/corpora/brown-head.txt
step word2vec-jax 50 word2vec --corpus "$corpus" --epochs 3 --backend jax
step word2vec-torch 50 word2vec --corpus "$corpus" --epochs 3 --backend torch
