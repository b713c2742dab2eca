"""kerasdl: the core ideas of deep learning as small Keras 3 programs.

Importing this package does not import Keras, so the backend can still be
chosen (see `kerasdl.flags.use_backend`) before the first Keras import.
"""

__version__ = "0.1.0"
