"""Training and measuring autoencoders: reconstruction metrics, and greedy
layer-wise pretraining of a tied dense autoencoder (Bengio et al., 2007;
Vincent et al., 2010)."""

from pathlib import Path

import keras
import numpy as np

from kerasdl import training
from kerasdl.models.autoencoder import noise_layer, tied_pairs

EPSILON = 1e-7  # Keras' clipping of probabilities in binary cross-entropy


def reconstruction_metrics(reconstructed, x):
    """Mean squared error and binary cross-entropy per pixel.

    Args:
        reconstructed: the autoencoder's outputs, in (0, 1).
        x: the original images, in [0, 1].

    Returns:
        A dict with `test_mse` and `test_bce`.
    """
    p = np.clip(reconstructed, EPSILON, 1 - EPSILON)
    bce = -np.mean(x * np.log(p) + (1 - x) * np.log(1 - p))
    return {"test_mse": float(np.mean((reconstructed - x) ** 2)), "test_bce": float(bce)}


def compile_autoencoder(model, *, total_steps, lr, schedule="constant"):
    """Compiles an autoencoder with Adam, binary cross-entropy per pixel as
    the loss and the mean squared error as a metric."""
    training.compile_model(model, total_steps=total_steps, lr=lr, schedule=schedule,
                           loss="binary_crossentropy", metrics=("mean_squared_error",))


def greedy_stages(autoencoder):
    """Walks the tied pairs of `autoencoder`, outermost first, leaving only
    the current pair trainable; all pairs are trainable again at the end.

    Yields:
        `(index, encode_layer, decode_layer)`, index from 0.

    Raises:
        UsageError: when `autoencoder` is not a tied dense autoencoder.
    """
    pairs = tied_pairs(autoencoder)
    for index, (encode, decode) in enumerate(pairs):
        for other, (e, d) in enumerate(pairs):
            e.trainable = d.trainable = other == index
        yield index, encode, decode
    for encode, decode in pairs:
        encode.trainable = decode.trainable = True


def greedy_pretrain(autoencoder, x, *, epochs, batch_size, optimizer="adam", lr=1e-3,
                    schedule="constant", noise=0.0, noise_type="gaussian", output_dir):
    """Pretrains a tied dense autoencoder one encoder/decoder pair at a time.

    Pair 1 learns to reconstruct the pixels (binary cross-entropy); each
    next pair learns to reconstruct the code of the frozen pairs outside it
    (mean squared error), from that code corrupted by `noise`. Each finished
    pair is saved, so an interrupted run resumes at the pair it stopped in.

    Args:
        autoencoder: from `dense_autoencoder(..., tied=True)`.
        x: the training images (no labels).
        epochs: epochs per pair.
        batch_size, optimizer, lr, schedule: as in `training.compile_model`.
        noise, noise_type: the corruption of each pair's input.
        output_dir: the folder for each pair's run (`pair_1/`, ...).
    """
    output_dir = Path(output_dir)
    pairs = len(tied_pairs(autoencoder))
    h = x.reshape(len(x), -1)
    for index, encode, decode in greedy_stages(autoencoder):
        name = f"pair_{index + 1}"
        print(f"Greedy pretraining: pair {index + 1} of {pairs}, "
              f"{h.shape[1]} -> {encode.units} -> {h.shape[1]}", flush=True)
        inputs = keras.Input(h.shape[1:])
        corrupt = noise_layer(noise, noise_type)
        stage = keras.Model(inputs, decode(encode(corrupt(inputs) if corrupt else inputs)),
                            name=name)
        finished = output_dir / f"{name}.weights.h5"
        if finished.exists():
            stage.load_weights(finished)
        else:
            training.compile_model(
                stage, total_steps=training.total_steps(epochs, len(h), batch_size),
                optimizer=optimizer, lr=lr, schedule=schedule, metrics=(),
                loss="binary_crossentropy" if index == 0 else "mean_squared_error")
            training.fit(stage, (h, h), None, epochs=epochs, batch_size=batch_size,
                         output_dir=output_dir / name)
            stage.save_weights(finished)
        h = keras.Model(inputs, encode(inputs)).predict(h, batch_size=1000, verbose=0)
