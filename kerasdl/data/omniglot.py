"""Omniglot (Lake et al. 2015): handwritten characters of 50 alphabets, 20
drawings of each, for few-shot learning.

Read from `$KERASDL_DATA_DIR/omniglot/`, as brendenlake/omniglot ships
them:

- `images_background_small1.zip` and `images_background_small2.zip`: two
  small background sets of 5 alphabets each (136 and 156 characters; Greek
  and Latin are in both);
- `all_runs.zip`: the 20 one-shot runs of the paper, each 20 training
  images (one per character) and 20 test images of the same characters,
  drawn from the evaluation alphabets.

Each drawing is a 105x105 black-on-white PNG; the loaders invert it (strokes
are 1) and shrink it to `size` x `size`, as Vinyals et al. and Snell et al.
do (28x28). Online, the full background and evaluation sets
(`images_background.zip`, `images_evaluation.zip`) unzip to the same layout
as the small sets, and `load_characters` reads them too.
"""

import io
import re
import zipfile

import numpy as np

from kerasdl.data.paths import DATA_DIR_ENV, local_file, reading
from kerasdl.errors import UsageError

BACKGROUND = ("images_background_small1.zip", "images_background_small2.zip")
RUNS = "all_runs.zip"


def _zip_path(name):
    path = local_file("omniglot", name)
    if path is None:
        raise UsageError(f"Cannot find omniglot/{name}: set ${DATA_DIR_ENV} to a folder "
                         f"holding omniglot/ (from github.com/brendenlake/omniglot, python/)")
    return path


def _read_png(archive, name, size):
    from PIL import Image

    with Image.open(io.BytesIO(archive.read(name))) as image:
        image = image.convert("L").resize((size, size), Image.Resampling.BOX)
    return 1.0 - np.asarray(image, "float32")[..., None] / 255.0


def load_characters(names=BACKGROUND, size=28):
    """Loads the characters of Omniglot's image archives, each once.

    Args:
        names: archives under `$KERASDL_DATA_DIR/omniglot/`, each holding
            `<set>/<alphabet>/characterNN/*.png`; a character found in two
            is read from the first.
        size: the side of the images.

    Returns:
        `(images, alphabets)`: float32 `(characters, drawings, size, size,
        1)` in [0, 1], strokes bright; and the alphabet of each character.

    Raises:
        UsageError: when an archive is missing or damaged.
    """
    characters = {}
    for name in names:
        path = _zip_path(name)
        with reading(path, "an Omniglot zip"), zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist()):
                match = re.fullmatch(r"[^/]+/([^/]+)/(character\d+)/[^/]+\.png", member)
                if match and characters.setdefault(match.groups(), [name])[0] == name:
                    characters[match.groups()].append(_read_png(archive, member, size))
    if not characters:
        raise UsageError(f"No Omniglot characters in {', '.join(names)}")
    keys = sorted(characters)
    return (np.stack([np.stack(characters[key][1:]) for key in keys]),
            [alphabet for alphabet, _ in keys])


def load_one_shot_runs(size=28):
    """Loads the 20 one-shot runs of Lake et al. 2015 from `all_runs.zip`,
    each as a 20-way 1-shot episode with one query per character.

    Returns:
        float32 `(20, 40, size, size, 1)`: for each run, character by
        character, its training image then its test image.

    Raises:
        UsageError: when the archive is missing or damaged.
    """
    path = _zip_path(RUNS)
    runs = []
    with reading(path, "the Omniglot one-shot runs"), zipfile.ZipFile(path) as archive:
        for run in range(1, 21):
            test_of = {train: test for test, train in (line.split() for line in archive.read(
                f"run{run:02d}/class_labels.txt").decode().splitlines() if line.strip())}
            runs.append([_read_png(archive, name, size) for c in range(1, 21) for name in (
                f"run{run:02d}/training/class{c:02d}.png",
                test_of[f"run{run:02d}/training/class{c:02d}.png"])])
    return np.array(runs)


def source():
    """The folder the archives are read from."""
    return str(_zip_path(RUNS).parent)
