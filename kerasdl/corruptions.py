"""The common corruptions of MNIST-C (Mu & Gilmer 2019, arXiv:1906.02337),
written anew in NumPy from the paper's descriptions.

Each corruption maps a batch of grayscale images, floats in [0, 1] of shape
`(n, height, width)` or `(n, height, width, 1)`, to corrupted images of the
same shape. Those with a strength take a `severity` from 1 to 5;
`MNIST_C_SEVERITY` is the one the MNIST-C dataset uses. The random draws
(noise, angles, lines) come from a NumPy `Generator`, so a seed fixes them.

The pixels are not MNIST-C's own: the blurs, the fog's fractal and the
Canny edge detector are simpler versions of those in OpenCV, ImageMagick and
scikit-image, so compare models under one implementation, not with
figures computed on the published dataset.
"""

import numpy as np

from kerasdl.errors import UsageError, check_choice

SEVERITIES = (1, 2, 3, 4, 5)


def _gaussian_blur(images, sigma):
    """Separable Gaussian blur of `(n, h, w)` images; edges repeat."""
    radius = int(4 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    kernel /= kernel.sum()
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(images, pad, mode="edge")
        size = images.shape[axis]
        images = sum(weight * np.take(padded, np.arange(size) + radius + offset, axis=axis)
                     for weight, offset in zip(kernel, offsets))
    return images


def _warp(images, inverse):
    """Resamples `(n, h, w)` images bilinearly: output pixel (row, col)
    reads the input at `inverse[i] @ (row, col, 1)`, one 2x3 matrix per
    image; outside the image is 0."""
    n, h, w = images.shape
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    points = np.stack([rows, cols, np.ones_like(rows)]).reshape(3, -1).astype(np.float64)
    source = np.asarray(inverse) @ points  # (n, 2, h*w)
    r0, c0 = np.floor(source[:, 0]), np.floor(source[:, 1])
    out = np.zeros((n, h * w))
    for dr in (0, 1):
        for dc in (0, 1):
            r, c = r0 + dr, c0 + dc
            weight = (1 - np.abs(source[:, 0] - r)) * (1 - np.abs(source[:, 1] - c))
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            index = np.where(inside, r * w + c, 0).astype(np.int64)
            out += np.where(inside, weight * np.take_along_axis(
                images.reshape(n, -1), index, axis=1), 0.0)
    return out.reshape(n, h, w)


def _about_centre(linear, shape):
    """2x3 matrices that apply the `(n, 2, 2)` `linear` maps about the
    image centre."""
    centre = (np.array(shape) - 1) / 2
    shift = centre - linear @ centre
    return np.concatenate([linear, shift[..., None]], axis=-1)


def _shifts(rows, cols, zoom=1.0):
    """2x3 matrices for `_warp` that read the input at `zoom * (row, col)`
    moved by `(rows[i], cols[i])`: one per image."""
    maps = np.zeros((len(rows), 2, 3))
    maps[:, 0, 0] = maps[:, 1, 1] = zoom
    maps[:, 0, 2], maps[:, 1, 2] = rows, cols
    return maps


def _neighbour(padded, dr, dc):
    """The `(n, h, w)` view of `padded` (padded by 1 on each side of `h` and
    `w`) shifted by `(dr, dc)`: pixel (row, col) of the view is (row + dr,
    col + dc) of the image."""
    h, w = padded.shape[1] - 2, padded.shape[2] - 2
    return padded[:, 1 + dr: 1 + dr + h, 1 + dc: 1 + dc + w]


def _pad1(images, mode="constant"):
    return np.pad(images, ((0, 0), (1, 1), (1, 1)), mode=mode)


def _signs(rng, n):
    return rng.choice([-1.0, 1.0], n)


def shot_noise(images, severity, rng):
    """Poisson noise: photon counts at `c` per unit of brightness."""
    c = (60, 25, 12, 5, 3)[severity - 1]
    return rng.poisson(images * c) / c


def impulse_noise(images, severity, rng):
    """Salt and pepper: a fraction of pixels set to white or black."""
    amount = (0.03, 0.06, 0.09, 0.17, 0.27)[severity - 1]
    hit = rng.random(images.shape) < amount
    return np.where(hit, rng.random(images.shape) < 0.5, images)


def glass_blur(images, severity, rng):
    """Blur, then swap each pixel with a random neighbour (as through frosted
    glass), then blur again."""
    sigma, reach, rounds = ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2),
                            (1.5, 4, 2))[severity - 1]
    out = _gaussian_blur(images, sigma)
    n, h, w = images.shape
    batch = np.arange(n)
    for _ in range(rounds):
        for row in range(h - reach, reach, -1):
            for col in range(w - reach, reach, -1):
                moves = rng.random(n) < 0.5
                dr, dc = rng.integers(-reach, reach, (2, n))
                who, r2, c2 = batch[moves], row + dr[moves], col + dc[moves]
                here = out[who, row, col]
                out[who, row, col] = out[who, r2, c2]
                out[who, r2, c2] = here
    return _gaussian_blur(out, sigma)


def motion_blur(images, severity, rng):
    """Each image smeared along a random direction (within 45 degrees of
    horizontal) by a one-sided Gaussian trail."""
    radius, sigma = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))[severity - 1]
    angle = np.radians(rng.uniform(-45, 45, len(images)))
    steps = np.arange(radius + 1)
    weights = np.exp(-steps ** 2 / (2 * sigma ** 2))
    out = np.zeros_like(images)
    for step, weight in zip(steps, weights / weights.sum()):
        out += weight * _warp(images, _shifts(-step * np.sin(angle), -step * np.cos(angle)))
    return out


def shear(images, severity, rng):
    """A horizontal shear by an angle of `c` radians, either way."""
    c = 0.2 * severity * _signs(rng, len(images))
    linear = np.zeros((len(images), 2, 2))
    linear[:, 0, 0], linear[:, 1, 0], linear[:, 1, 1] = np.cos(c), -np.sin(c), 1
    return _warp(images, _about_centre(linear, images.shape[1:]))


def scale(images, severity, rng):
    """The digit shrunk about the centre to 0.9 ... 0.5 of its size."""
    factor = (0.9, 0.8, 0.7, 0.6, 0.5)[severity - 1]
    linear = np.broadcast_to(np.eye(2) / factor, (len(images), 2, 2))
    return _warp(images, _about_centre(linear, images.shape[1:]))


def rotate(images, severity, rng):
    """A rotation about the centre by `c` radians, either way."""
    c = 0.2 * severity * _signs(rng, len(images))
    linear = np.stack([np.stack([np.cos(c), -np.sin(c)], -1),
                       np.stack([np.sin(c), np.cos(c)], -1)], 1)
    return _warp(images, _about_centre(linear, images.shape[1:]))


def translate(images, severity, rng):
    """A shift by `severity` pixels along each axis, in random directions."""
    rows, cols = (severity * _signs(rng, len(images)) for _ in range(2))
    return _warp(images, _shifts(rows, cols))


def brightness(images, severity, rng):
    """Brighter by 0.1 ... 0.5 (for gray pixels, HSV's value is the pixel)."""
    return images + 0.1 * severity


def _fractal(rng, n, size, decay):
    """Fractal noise in [0, 1]: random grids of ever finer cells, each
    octave's amplitude `1 / decay` of the one before."""
    out = np.zeros((n, size, size))
    cells, amplitude = 2, 1.0
    while cells <= size:
        grid = rng.uniform(-1, 1, (n, cells + 1, cells + 1))
        padded = np.zeros((n, size, size))
        padded[:, :cells + 1, :cells + 1] = grid
        out += amplitude * _warp(padded, _shifts(np.zeros(n), np.zeros(n), cells / (size - 1)))
        cells, amplitude = cells * 2, amplitude / decay
    out -= out.min(axis=(1, 2), keepdims=True)
    return out / out.max(axis=(1, 2), keepdims=True)


def fog(images, severity, rng):
    """Fractal fog added, then the contrast lowered to keep the range."""
    thickness, decay = ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))[severity - 1]
    top = images.max(axis=(1, 2), keepdims=True)
    fogged = images + thickness * _fractal(rng, len(images), images.shape[1], decay)
    return fogged * top / (top + thickness)


def spatter(images, severity, rng):
    """Blobs of mud (gray 63/255) where smoothed noise is high."""
    mean, spread, sigma, level, soften = ((0.65, 0.3, 4, 0.69, 0.6), (0.65, 0.3, 3, 0.68, 0.6),
                                          (0.65, 0.3, 2, 0.68, 0.5), (0.65, 0.3, 1, 0.65, 1.5),
                                          (0.67, 0.4, 1, 0.65, 1.5))[severity - 1]
    liquid = _gaussian_blur(rng.normal(mean, spread, images.shape), sigma)
    mud = _gaussian_blur((liquid > level).astype(float), soften)
    mud[mud < 0.8] = 0
    return images * (1 - mud) + 63 / 255 * mud


def _segment(shape, start, end):
    """A soft line, 2.3 pixels thick, from `start` to `end` ((row, col)
    pairs): 1 on the line, falling to 0 away from it."""
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    points = np.stack([rows, cols], -1).astype(float)
    start, end = np.asarray(start, float), np.asarray(end, float)
    along = end - start
    t = np.clip(((points - start) @ along) / max(along @ along, 1e-9), 0, 1)
    distance = np.linalg.norm(points - (start + t[..., None] * along), axis=-1)
    return np.clip(np.log(1 - np.minimum(distance, 2.3 - 1e-9) / 2.3) + 1, 0, 1)


def dotted_line(images, severity, rng):
    """A line across the image, drawn in dashes two pixels long."""
    h, w = images.shape[1:]
    out = images.copy()
    for i, (r0, r1) in enumerate(rng.integers(0, h - 1, (len(images), 2))):
        line = _segment((h, w), (r0, 0), (r1, w - 1))
        line[:, (np.arange(w) // 2) % 2 == 0] = 0
        out[i] += line
    return out


def zigzag(images, severity, rng):
    """A zigzag line across the image: teeth two pixels high and wide."""
    h, w = images.shape[1:]
    out = images.copy()
    for i, (r0, slope) in enumerate(zip(rng.integers(0, h - 1, len(images)),
                                        rng.integers(-5, 5, len(images)))):
        cols = np.arange(2, w - 2, 2.0)
        rows = r0 + slope * (cols - 2) / (w - 5) + 2.0 * (-1) ** np.arange(len(cols))
        for k in range(1, len(cols)):
            out[i] += _segment((h, w), (rows[k - 1], cols[k - 1]), (rows[k], cols[k]))
    return out


def stripe(images, severity, rng):
    """The left and right quarters of the image inverted."""
    out = images.copy()
    quarter = images.shape[2] // 4
    for part in (slice(None, quarter), slice(-quarter, None)):
        out[:, :, part] = 1 - out[:, :, part]
    return out


def canny_edges(images, severity, rng):
    """The image replaced by its edges (Canny: smooth, take gradients, keep
    local maxima across the edge, keep strong edges and the weak ones that
    touch them)."""
    padded = _pad1(_gaussian_blur(images, 1.0), mode="edge")

    def at(dr, dc):
        return _neighbour(padded, dr, dc)

    gr = (at(1, -1) + 2 * at(1, 0) + at(1, 1)) - (at(-1, -1) + 2 * at(-1, 0) + at(-1, 1))
    gc = (at(-1, 1) + 2 * at(0, 1) + at(1, 1)) - (at(-1, -1) + 2 * at(0, -1) + at(1, -1))
    magnitude = np.hypot(gr, gc)
    direction = (np.round(np.arctan2(gr, gc) / (np.pi / 4)) % 4).astype(int)
    padded_m = _pad1(magnitude)
    peak = np.zeros_like(magnitude, dtype=bool)
    for k, (dr, dc) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):
        peak |= ((direction == k) & (magnitude >= _neighbour(padded_m, dr, dc))
                 & (magnitude >= _neighbour(padded_m, -dr, -dc)))
    strong, weak = peak & (magnitude >= 0.2), peak & (magnitude >= 0.1)
    edges = strong
    while True:
        padded_e = _pad1(edges)
        grown = np.any([_neighbour(padded_e, dr, dc)
                        for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0) & weak
        if (grown == edges).all():
            return edges.astype(float)
        edges = grown


CORRUPTIONS = {
    "shot_noise": shot_noise, "impulse_noise": impulse_noise, "glass_blur": glass_blur,
    "motion_blur": motion_blur, "shear": shear, "scale": scale, "rotate": rotate,
    "brightness": brightness, "translate": translate, "stripe": stripe, "fog": fog,
    "spatter": spatter, "dotted_line": dotted_line, "zigzag": zigzag,
    "canny_edges": canny_edges,
}
# The severity of each corruption in the MNIST-C dataset; the four drawn ones
# have no strength.
MNIST_C_SEVERITY = {
    "shot_noise": 5, "impulse_noise": 4, "glass_blur": 1, "motion_blur": 1, "shear": 2,
    "scale": 3, "rotate": 2, "brightness": 5, "translate": 3, "fog": 5, "spatter": 4,
}


def corrupt(images, name, severity=None, seed=0):
    """Applies the corruption `name` to `images`.

    Args:
        images: floats in [0, 1], shaped `(n, h, w)` or `(n, h, w, 1)`.
        name: one of `CORRUPTIONS`.
        severity: 1 to 5, or `None` for MNIST-C's; ignored by the
            corruptions without a strength (not in `MNIST_C_SEVERITY`).
        seed: seeds the random draws.

    Returns:
        The corrupted images: float32 in [0, 1], shaped like `images`.

    Raises:
        UsageError: for an unknown name or a severity outside 1 to 5.
    """
    check_choice("corruption", name, CORRUPTIONS)
    severity = MNIST_C_SEVERITY.get(name, 1) if severity is None else severity
    if severity not in SEVERITIES:
        raise UsageError(f"Invalid severity: {severity!r}. Choose one of: 1, 2, 3, 4, 5")
    images = np.asarray(images, dtype=np.float64)
    flat = images.reshape(images.shape[:3])
    out = CORRUPTIONS[name](flat.copy(), severity, np.random.default_rng(seed))
    return np.clip(out, 0, 1).astype(np.float32).reshape(images.shape)
