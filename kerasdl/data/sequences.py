"""The adding problem (Hochreiter & Schmidhuber 1997), the standard
synthetic test of a recurrent network's memory.

Each sequence is `length` steps of two numbers: a value drawn uniformly from
[0, 1], and a marker, 1 at two steps (one in each half) and 0 elsewhere. The
target is the sum of the two marked values. Always answering 1 gives the
mean squared error 1/6 (the target's variance), the bar a network must go
well below to show that it carried the first marked value to the end.
"""

import numpy as np

BASELINE_MSE = 1 / 6


def adding_problem(count, length, seed=0):
    """Draws `count` sequences of the adding problem.

    Args:
        count: the number of sequences.
        length: the steps per sequence, at least 2.
        seed: the seed of the draw.

    Returns:
        `(x, y)`: float32 `(count, length, 2)` sequences of (value, marker)
        pairs, and float32 `(count,)` targets.
    """
    rng = np.random.default_rng(seed)
    values = rng.random((count, length))
    rows, half = np.arange(count), length // 2
    first, second = rng.integers(0, half, count), rng.integers(half, length, count)
    markers = np.zeros((count, length))
    markers[rows, first] = markers[rows, second] = 1
    y = values[rows, first] + values[rows, second]
    return np.stack([values, markers], -1).astype("float32"), y.astype("float32")
