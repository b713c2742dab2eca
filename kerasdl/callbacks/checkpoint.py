"""A `ModelCheckpoint` that saves the model as it is used for inference."""

import keras

from kerasdl.models.classifiers import for_inference


class InferenceCheckpoint(keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` that saves `for_inference(model)`:
    the same weights, without the augmentation layers, so that the file
    loads with plain Keras."""

    def set_model(self, model):
        super().set_model(for_inference(model))
