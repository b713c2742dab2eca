"""Callbacks that `keras.callbacks` lacks, and a NaN stop that watches more
than TerminateOnNaN."""

from kerasdl.callbacks.checkpoint import InferenceCheckpoint
from kerasdl.callbacks.curves import LearningCurves
from kerasdl.callbacks.timing import EpochTimer, TimeToAccuracy
from kerasdl.callbacks.nan import StopOnNaN
from kerasdl.callbacks.tensorboard_logs import log_folder, start_logging, tensorboard
