"""Hyperparameter search with keras-tuner over the apps' own builders and
training function.

A search space is data, declared next to the builders (see
`classifiers.SEARCH_SPACE`): each entry names a builder option or a training
setting and the values to try. The HyperModel turns sampled values into a
config like the app's and builds, compiles and fits with the same functions
the app uses; there is no second model definition. `APPS` says, per tunable
app, which space, builder and targets it uses.
"""

import csv
import dataclasses
import json
import resource
import sys
from pathlib import Path

import keras
import keras_tuner as kt
from matplotlib.figure import Figure

from kerasdl import autoencoding, backend, data, models, training
from kerasdl.errors import UsageError, check_choice
from kerasdl.models import autoencoder as autoencoders
from kerasdl.names import TUNERS

TUNER_CLASSES = dict(zip(TUNERS, (kt.RandomSearch, kt.Hyperband,
                                  kt.BayesianOptimization, kt.GridSearch)))
TRAINING_KEYS = ("lr", "optimizer", "batch_size", "schedule")


def sample(hp, space):
    """Declares each entry of `space` on `hp` and returns the sampled values."""
    kinds = {
        "int": lambda name, s: hp.Int(name, s["min"], s["max"], step=s.get("step", 1)),
        "float": lambda name, s: hp.Float(name, s["min"], s["max"], step=s.get("step"),
                                          sampling=s.get("sampling", "linear")),
        "choice": lambda name, s: hp.Choice(name, s["values"]),
        "boolean": lambda name, s: hp.Boolean(name),
    }
    return {name: kinds[spec["type"]](name, spec) for name, spec in space.items()}


def apply(config, values):
    """Returns a copy of an app config with `values` put in their places: a
    training setting at the top, anything else among the builder options.
    `augment` takes a comma-separated string, or "none"."""
    config = {**config, "model_options": dict(config["model_options"])}
    for name, value in values.items():
        if name in TRAINING_KEYS:
            config[name] = value
        elif name == "augment":
            config["model_options"][name] = [] if value == "none" else value.split(",")
        else:
            config["model_options"][name] = value
    return config


def _lower_is_better(objective):
    """Losses are minimised; every other objective is maximised."""
    return objective.endswith("loss")


def _memory_mb():
    """This process' resident memory now (`None` where /proc is missing) and
    its peak so far, in MB."""
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KB.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    statm = Path("/proc/self/statm")
    now = (int(statm.read_text().split()[1]) * resource.getpagesize() / 2**20
           if statm.exists() else None)
    return now, peak


def _classifier(config, input_shape, num_classes, total_steps):
    model = models.build_classifier(config["model"], input_shape, num_classes,
                                    **config["model_options"])
    training.compile_model(model, total_steps=total_steps, optimizer=config["optimizer"],
                           lr=config["lr"], schedule=config["schedule"],
                           warmup=config["warmup"])
    return model


def _autoencoder(config, input_shape, num_classes, total_steps):
    if config["pretrain"] != "none":
        raise UsageError("kerasdl tune autoencoder tunes the autoencoder trained whole; "
                         f"drop --pretrain {config['pretrain']}")
    model = models.build_autoencoder(config["arch"], input_shape, **config["model_options"])
    autoencoding.compile_autoencoder(model, total_steps=total_steps, lr=config["lr"],
                                     schedule=config["schedule"])
    return model


@dataclasses.dataclass(frozen=True)
class AppTuning:
    """What `kerasdl tune` needs to know about an app.

    Attributes:
        space: the search space (see `sample`).
        objective: the default objective.
        build: `(config, input_shape, num_classes, total_steps)` -> the
            compiled model, made with the app's builder and compile call.
        targets: `ImageData` -> the `(train, validation)` targets of `fit`.
    """

    space: dict
    objective: str
    build: object
    targets: object


APPS = {
    "classification": AppTuning(models.SEARCH_SPACE, "val_accuracy", _classifier,
                                lambda images: (images.y_train, images.y_val)),
    "autoencoder": AppTuning(autoencoders.SEARCH_SPACE, "val_loss", _autoencoder,
                             lambda images: (images.x_train, images.x_val)),
}


class AppHyperModel(kt.HyperModel):
    """Samples the app's search space into its config, then builds and
    compiles with `tuning.build` and trains with `training.fit`, as the app
    does.

    Args:
        config: the app config the samples start from.
        tuning: the app's `AppTuning`.
        input_shape, num_classes: of the data.
        train_size: number of training examples, for the schedule's length.
        objective: the name of the metric the search optimises.
        max_trials: shown in the progress lines, or `None`.
    """

    def __init__(self, config, tuning, input_shape, num_classes, train_size, objective,
                 max_trials=None):
        super().__init__(name=config["app"])
        self.config, self.tuning, self.space = config, tuning, tuning.space
        self.input_shape, self.num_classes = input_shape, num_classes
        self.train_size, self.objective, self.max_trials = train_size, objective, max_trials
        self.trials_run = 0

    def config_for(self, hp):
        return apply(self.config, {k: v for k, v in hp.values.items() if k in self.space})

    def build(self, hp):
        # keras-tuner has just called keras.backend.clear_session().
        backend.clear_caches()
        sample(hp, self.space)
        config = self.config_for(hp)
        steps = training.total_steps(config["epochs"], self.train_size, config["batch_size"])
        return self.tuning.build(config, self.input_shape, self.num_classes, steps)

    def fit(self, hp, model, x, y, validation_data=None, callbacks=(), epochs=1, **kwargs):
        self.trials_run += 1
        of = f"/{self.max_trials}" if self.max_trials else ""
        values = {k: f"{v:.3g}" if isinstance(v, float) else v
                  for k, v in hp.values.items() if k in self.space}
        print(f"Trial {self.trials_run}{of} of this session: {values}", flush=True)
        config = self.config_for(hp)
        kwargs.pop("verbose", None)
        history = training.fit(model, (x, y), validation_data, epochs=epochs,
                               batch_size=config["batch_size"], callbacks=callbacks,
                               **kwargs)
        scores = history.history[self.objective]
        best = min(scores) if _lower_is_better(self.objective) else max(scores)
        rss, peak = _memory_mb()
        return {self.objective: best, "peak_rss_mb": peak,
                **({"rss_mb": rss} if rss is not None else {})}


def _trial_rows(tuner, space, objective):
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.status != "COMPLETED":
            continue
        memory = {name: round(trial.metrics.get_last_value(name), 1)
                  if trial.metrics.exists(name) else None
                  for name in ("rss_mb", "peak_rss_mb")}
        values = {k: trial.hyperparameters.values.get(k) for k in space}
        rows.append({"trial": trial.trial_id, objective: round(trial.score, 6), **memory,
                     **{k: float(f"{v:.6g}") if isinstance(v, float) else v
                        for k, v in values.items()}})
    return rows


def write_trials(tuner, space, objective, output_dir):
    """Writes `trials.csv`, `trials.md` (sorted by the objective),
    `best_hyperparameters.json` and `objective.png` for a finished search.

    Returns:
        The completed trials as dicts, best first.
    """
    rows = _trial_rows(tuner, space, objective)
    if not rows:
        raise UsageError("The search completed no trial; see the messages above")
    output_dir = Path(output_dir)
    with open(output_dir / "trials.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lower_is_better = _lower_is_better(objective)
    ranked = sorted(rows, key=lambda r: r[objective], reverse=not lower_is_better)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(str(v) for v in r.values()) + " |" for r in ranked]
    (output_dir / "trials.md").write_text("\n".join(lines) + "\n")
    best = {k: ranked[0][k] for k in space}
    (output_dir / "best_hyperparameters.json").write_text(json.dumps(best, indent=2) + "\n")

    scores = [r[objective] for r in rows]
    running = [min(scores[:i + 1]) if lower_is_better else max(scores[:i + 1])
               for i in range(len(scores))]
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(range(1, len(rows) + 1), scores, "o", label="trial")
    ax.plot(range(1, len(rows) + 1), running, "-", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(output_dir / "objective.png", dpi=100)
    return ranked


def tune(app, config, *, tuner, max_trials, objective, output_dir, resume=False):
    """Searches the app's space (`APPS`), then retrains the best
    configuration on train plus validation with the app's own
    `train_and_evaluate` and evaluates it on the test split.

    Args:
        app: the app module, whose `train_and_evaluate` retrains the best.
        config: the app config the search starts from (from its flags).
        tuner: one of `TUNERS`.
        max_trials: trials to run in all (Hyperband sizes itself from
            `config["epochs"]` instead).
        objective: a metric of `fit`, such as `"val_accuracy"`, or `None`
            for the app's default.
        output_dir: the folder of the search: `search.json` (its settings,
            seed included), `search/` (keras-tuner's state), the trial tables
            and plot, and `best/` (the retrained run).
        resume: continue the search in `output_dir`. Without it, an existing
            search is refused rather than silently reloaded.

    Returns:
        The retrained model's metrics, with the best hyperparameters.

    Raises:
        UsageError: for an unknown app or tuner, a search to resume that
            does not exist, or an existing one without `resume`.
    """
    check_choice("tuner", tuner, TUNERS)
    app_tuning = APPS[check_choice("tunable app", config["app"], APPS)]
    objective = objective or app_tuning.objective
    output_dir = Path(output_dir)
    if resume and not (output_dir / "search").exists():
        raise UsageError(f"Nothing to resume: {output_dir} holds no search")
    if not resume and output_dir.exists() and any(output_dir.iterdir()):
        raise UsageError(f"{output_dir} already holds a search; pass --resume to continue "
                         "it, or choose another --output-dir")
    output_dir.mkdir(parents=True, exist_ok=True)
    settings = {"tuner": tuner, "objective": objective, "seed": config["seed"],
                "config": config}
    saved = output_dir / "search.json"
    if resume and saved.exists() and json.loads(saved.read_text()) != settings:
        raise UsageError(f"The search in {output_dir} was started with other settings "
                         f"({saved}); resume it with the same flags")
    saved.write_text(json.dumps(settings, indent=2) + "\n")

    images = data.load_run_images(config)
    space = app_tuning.space
    hypermodel = AppHyperModel(config, app_tuning, images.input_shape, images.num_classes,
                               len(images.x_train), objective,
                               None if tuner == "hyperband" else max_trials)
    train_targets, val_targets = app_tuning.targets(images)
    size = ({"max_epochs": config["epochs"]} if tuner == "hyperband"
            else {"max_trials": max_trials})
    direction = "min" if _lower_is_better(objective) else "max"
    keras.utils.set_random_seed(config["seed"])
    search = TUNER_CLASSES[tuner](
        hypermodel, objective=kt.Objective(objective, direction), seed=config["seed"],
        directory=str(output_dir), project_name="search", overwrite=False, **size)
    print(f"Searching with {tuner}: {'resuming' if resume else 'new search'} in "
          f"{output_dir}", flush=True)
    search.search(images.x_train, train_targets, epochs=config["epochs"],
                  validation_data=(images.x_val, val_targets), verbose=0)
    ranked = write_trials(search, space, objective, output_dir)
    best = {k: ranked[0][k] for k in space}
    print(f"Trials completed: {len(ranked)}; the best, {objective} "
          f"{ranked[0][objective]:.4f}, had {best}. Retraining it on train + validation.",
          flush=True)
    best_config = {**apply(config, best), "validation_size": 0}
    metrics = app.train_and_evaluate(best_config, output_dir / "best", overwrite=resume)
    return {**metrics, "best_hyperparameters": best}
