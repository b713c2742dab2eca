"""PyTorch implementations of the kerasdl backend functions."""

import torch


def device_info():
    """Returns 'GPU (name)' when PyTorch sees CUDA, else 'CPU'."""
    if torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return "CPU"


def clear_caches():
    """Frees per-model state that `keras.backend.clear_session()` leaves
    behind: the CUDA allocator's cached blocks, when there is a GPU."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# `Model.compile` options for models made of embedding lookups (word2vec):
# Keras' defaults (eager; PyTorch takes one step per call).
LOOKUP_COMPILE_OPTIONS = {}
