"""Transfer learning: reuse the base of a network trained on one task for
another, frozen under a new head, then partly unfrozen and fine-tuned.

- `model`: the bases (a saved classifier cut below its dense layers, or an
  ImageNet backbone), their blocks, freezing, and the new head;
- `pretraining`: the base pretrained on a source task, shipped with the
  package or trained here;
- `modes`: training on the target task in the modes scratch, frozen and
  finetune, on a few labels per class;
- `report`: the table and plot of test accuracy per labels count and mode.
"""

from kerasdl.transfer.model import (
    BACKBONES,
    ImagenetPreprocessing,
    base_of,
    blocks,
    feature_extractor,
    imagenet_base,
    open_base,
    saved_base,
    saved_model,
    set_trainable,
    weights_choice,
    with_new_head,
)
from kerasdl.transfer.modes import (
    MODES,
    labels_list,
    labelled,
    one_trial,
    repeat_to,
    target_augment,
    train_mode,
    train_modes,
)
from kerasdl.transfer.pretraining import (
    base_recipe,
    pretrain_base,
    quarter_turns,
    shipped_base,
    sum_over_turns,
)
from kerasdl.transfer.report import results_table, write_report
