#!/usr/bin/env bash
# Runs the test suite once per Keras backend (the backend is fixed when Keras
# is imported, so each needs its own process). Usage: bash tests/run.sh
# [BACKEND ...]; extra pytest flags go in $PYTEST_ADDOPTS.
cd "$(dirname "$0")/.." || exit 1
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(tensorflow jax torch)
# Two test processes (one per core, at most two) when pytest-xdist is there.
parallel=()
python -c "import xdist" 2>/dev/null && parallel=(-n auto --maxprocesses 2)
failed=()
for backend in "${backends[@]}"; do
    echo "=== pytest on the $backend backend ==="
    KERAS_BACKEND=$backend python -m pytest -q "${parallel[@]}" tests || failed+=("$backend")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED on: ${failed[*]}"
    exit 1
fi
echo "All tests passed on: ${backends[*]}"
