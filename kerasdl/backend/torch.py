"""PyTorch implementations of the kerasdl backend functions."""

import torch


def device_info():
    """Returns 'GPU (name)' when PyTorch sees CUDA, else 'CPU'."""
    if torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return "CPU"
