"""Graph neural networks as message passing over an edge list, with
`keras.ops` only: each node's new vector is a weighted sum of its
neighbours' transformed vectors, summed per target node with
`ops.segment_sum`.

`edges` is an int (2, E) tensor of (source, target) node ids holding both
directions of every edge and a self-loop at every node, so that a node also
keeps its own vector.
"""

import keras
import numpy as np
from keras import ops


def _scatter_sum(values, targets, num_nodes):
    return ops.segment_sum(values, targets, num_segments=num_nodes)


@keras.saving.register_keras_serializable(package="kerasdl")
class GraphConv(keras.layers.Layer):
    """The graph convolution of Kipf & Welling (2017): H' = act(Â H W),
    with Â = D^-1/2 (A + I) D^-1/2, the adjacency with self-loops normalised
    by the degrees d (self-loop included) of both ends: the edge from j to i
    weighs 1 / sqrt(d_i d_j).

    Args:
        units: the size of each node's output vector.
        activation: applied to the output.
        kernel_regularizer: for W.
    """

    def __init__(self, units, activation=None, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, h_shape, edges_shape=None):
        self.kernel = self.add_weight(shape=(h_shape[-1], self.units), name="kernel",
                                      initializer="glorot_uniform",
                                      regularizer=self.regularizer)

    def call(self, h, edges, training=False):
        source, target = edges[0], edges[1]
        num_nodes = h.shape[0]
        h = ops.matmul(h, self.kernel)
        degree = _scatter_sum(ops.ones_like(target, "float32"), target, num_nodes)
        weight = ops.rsqrt(ops.take(degree, source) * ops.take(degree, target))
        messages = ops.take(h, source, axis=0) * ops.cast(weight, h.dtype)[:, None]
        return self.activation(_scatter_sum(messages, target, num_nodes))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "kernel_regularizer": keras.regularizers.serialize(self.regularizer)}


@keras.saving.register_keras_serializable(package="kerasdl")
class GraphAttention(keras.layers.Layer):
    """The graph attention layer of Veličković et al. (2018). Each head
    transforms every node's vector, z = W h, scores each edge from j to i
    with e_ij = LeakyReLU(a_target · z_i + a_source · z_j), turns the scores
    into weights over i's neighbours with a softmax, and sums the neighbours'
    z with those weights; the heads' outputs are concatenated, or averaged.

    Args:
        units: the size of each head's output vector.
        heads: the number of attention heads.
        concat: concatenate the heads (else average them).
        activation: applied to the output.
        dropout: the rate of dropout, in training, on z and on the
            attention weights.
        kernel_regularizer: for W and the attention vectors.
    """

    def __init__(self, units, heads=1, concat=True, activation=None, dropout=0.0,
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.heads, self.concat, self.rate = units, heads, concat, dropout
        self.activation = keras.activations.get(activation)
        self.regularizer = keras.regularizers.get(kernel_regularizer)
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, h_shape, edges_shape=None):
        def weight(name, shape, initializer="glorot_uniform", regularizer=self.regularizer):
            return self.add_weight(shape=shape, name=name, initializer=initializer,
                                   regularizer=regularizer)

        self.kernel = weight("kernel", (h_shape[-1], self.heads * self.units))
        self.attend_target = weight("attend_target", (self.heads, self.units))
        self.attend_source = weight("attend_source", (self.heads, self.units))
        self.bias = weight("bias", (self.heads * self.units if self.concat else self.units,),
                           "zeros", None)

    def call(self, h, edges, training=False):
        source, target = edges[0], edges[1]
        num_nodes = h.shape[0]
        z = ops.reshape(ops.matmul(h, self.kernel), (num_nodes, self.heads, self.units))
        scores = ops.leaky_relu(
            ops.take(ops.sum(z * self.attend_target, -1), target, axis=0)
            + ops.take(ops.sum(z * self.attend_source, -1), source, axis=0), 0.2)  # (E, heads)
        # A softmax over each target's incoming edges; subtracting the
        # largest score first keeps exp finite.
        largest = ops.segment_max(scores, target, num_segments=num_nodes)
        scores = ops.exp(scores - ops.take(ops.stop_gradient(largest), target, axis=0))
        total = _scatter_sum(scores, target, num_nodes)
        attention = self.dropout(scores / ops.take(total, target, axis=0), training=training)
        z = ops.take(self.dropout(z, training=training), source, axis=0)
        out = _scatter_sum(attention[:, :, None] * z, target, num_nodes)
        out = (ops.reshape(out, (num_nodes, self.heads * self.units)) if self.concat
               else ops.mean(out, axis=1))
        return self.activation(out + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "heads": self.heads,
                "concat": self.concat, "dropout": self.rate,
                "activation": keras.activations.serialize(self.activation),
                "kernel_regularizer": keras.regularizers.serialize(self.regularizer)}


class NodeClassifier(keras.Model):
    """Classifies the nodes of one graph, which it holds as constants.

    Called on a batch of node ids, it runs its layers over the whole graph
    (every node's features, passed along the edges) and returns the rows of
    those ids. So `fit` on the few labelled nodes still uses every node's
    features: semi-supervised, transductive learning.

    Args:
        features: a float (nodes, features) array, mostly zeros. The model
            keeps its non-zero entries, and drops out only those in
            training (Kipf & Welling's sparse dropout): drawing a random
            number for each entry of the dense matrix takes longer than
            the rest of a training step.
        edges: an int (2, E) array of (source, target) ids with both
            directions of each edge; the model adds a self-loop per node.
        layers: graph layers, called as `layer(h, edges, training=...)`,
            and other Keras layers (such as `Dropout`), called on `h`; the
            last gives the class probabilities.
        feature_dropout: the rate of dropout on the features.
    """

    def __init__(self, features, edges, layers, feature_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        nodes = np.arange(len(features))
        edges = np.concatenate([edges, [nodes, nodes]], axis=1)
        self.edges = keras.Variable(edges, dtype="int32", trainable=False, name="edges")
        entries = np.argwhere(features)
        self.feature_entries = keras.Variable(entries, dtype="int32", trainable=False,
                                              name="feature_entries")
        self.feature_values = keras.Variable(features[tuple(entries.T)], trainable=False,
                                             name="feature_values")
        self.feature_shape = tuple(features.shape)
        self.feature_dropout = keras.layers.Dropout(feature_dropout)
        self.graph_layers = list(layers)

    def node_outputs(self, training=False):
        """Each layer's output for every node, first layer first."""
        values = self.feature_dropout(self.feature_values, training=training)
        # The entries are distinct, so placing them (not adding) suffices,
        # which is much faster on PyTorch.
        outputs, h = [], ops.scatter_update(ops.zeros(self.feature_shape), self.feature_entries,
                                            values)
        for layer in self.graph_layers:
            graph_layer = isinstance(layer, (GraphConv, GraphAttention))
            h = layer(h, self.edges, training=training) if graph_layer else layer(
                h, training=training)
            outputs.append(h)
        return outputs

    def call(self, ids, training=False):
        return ops.take(self.node_outputs(training)[-1], ids, axis=0)
