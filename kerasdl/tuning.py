"""Hyperparameter search with keras-tuner over the apps' own builders and
training function.

A search space is data, declared next to the builders (see
`classifiers.SEARCH_SPACE`): each entry names a builder option or a setting
of the app's config and the values to try. For the apps trained by one `fit`
on images (classification, autoencoder), the HyperModel turns sampled values
into a config like the app's and builds, compiles and fits with the same
functions the app uses; there is no second model definition. For the others
(word2vec, transfer, GAN), a trial is a whole run of the app's own
`train_and_evaluate`, scored on a validation figure it reports. `APPS` says,
per tunable app, which space it uses, and how. Trials run a few at a time in
processes of their own, so that memory stays flat over a long search.
"""

import csv
import dataclasses
import gc
import importlib
import json
import multiprocessing
import resource
import sys
from pathlib import Path

import keras
import keras_tuner as kt
from matplotlib.figure import Figure

from kerasdl import autoencoding, backend, data, models, presets, training
from kerasdl.errors import UsageError, check_choice
from kerasdl.models import autoencoder as autoencoders
from kerasdl.models import gan, transfer, word2vec
from kerasdl.names import TUNABLE_APPS, TUNERS

TUNER_CLASSES = dict(zip(TUNERS, (kt.RandomSearch, kt.Hyperband,
                                  kt.BayesianOptimization, kt.GridSearch)))


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
    key of the config at the top, anything else among its builder options
    (`model_options`). `augment` takes a comma-separated string, or "none"."""
    config = {**config}
    if "model_options" in config:
        config["model_options"] = dict(config["model_options"])
    for name, value in values.items():
        if name == "augment":
            value = [] if value == "none" else value.split(",")
        if name in config:
            config[name] = value
        else:
            config["model_options"][name] = value
    return config


def _lower_is_better(objective):
    """Losses and FIDs are minimised; every other objective is maximised."""
    return objective.endswith(("loss", "fid"))


def _memory_mb():
    """This process' resident memory now as `rss_mb` (left out where /proc
    is missing) and its peak so far as `peak_rss_mb`, in MB."""
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KB.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    statm = Path("/proc/self/statm")
    now = ({"rss_mb": int(statm.read_text().split()[1]) * resource.getpagesize() / 2**20}
           if statm.exists() else {})
    return {"peak_rss_mb": peak, **now}


def _classifier(config, input_shape, num_classes, total_steps):
    with models.precision(config["precision"]):
        model = models.build_classifier(config["model"], input_shape, num_classes,
                                        **config["model_options"])
    training.compile_model(model, total_steps=total_steps, optimizer=config["optimizer"],
                           lr=config["lr"], schedule=config["schedule"],
                           warmup=config["warmup"])
    return model


def _autoencoder(config, input_shape, num_classes, total_steps):
    model = models.build_autoencoder(config["arch"], input_shape, **config["model_options"])
    autoencoding.compile_autoencoder(model, total_steps=total_steps, lr=config["lr"],
                                     schedule=config["schedule"])
    return model


def _trained_whole(config):
    """Autoencoder trials train the autoencoder whole, not greedily."""
    if config["pretrain"] != "none":
        raise UsageError("kerasdl tune autoencoder tunes the autoencoder trained whole; "
                         f"drop --pretrain {config['pretrain']}")
    return config


def _one_transfer_run(config):
    """A transfer trial trains one mode on one labels count: `finetune`
    (after `frozen`) unless one mode is asked for, on the smallest count."""
    if config["mode"] == "pretrain":
        raise UsageError("kerasdl tune transfer tunes the transfer to the target; "
                         "drop --mode pretrain")
    mode = "finetune" if config["mode"] == "all" else config["mode"]
    labels = min(config["labels_per_class"], key=lambda n: float("inf") if n == "all" else n)
    print(f"Tuning transfer in mode {mode} on {labels} labels per class "
          "(--mode, --labels-per-class)", flush=True)
    return {**config, "mode": mode, "labels_per_class": [labels]}


def _with_validation(config):
    """GAN trials measure FID against a validation split of the training set."""
    return {**config, "validation_size": presets.VALIDATION_SIZE}


@dataclasses.dataclass(frozen=True)
class AppTuning:
    """What `kerasdl tune` needs to know about an app.

    An app trained by one `fit` on images gives `build` and `targets`: each
    trial builds and fits through `AppHyperModel`. Any other app gives
    `scores`: each trial is a whole run of its `train_and_evaluate`.

    Attributes:
        space: the search space (see `sample`).
        build: `(config, input_shape, num_classes, total_steps)` -> the
            compiled model, made with the app's builder and compile call.
        targets: `ImageData` -> the `(train, validation)` targets of `fit`.
        scores: the metrics of a run -> a dict of the validation figures
            that can be objectives.
        prepare: the app config -> the config that trials start from.
        retrain_on_validation: retrain the best configuration on train plus
            validation; else as the trials trained.
    """

    space: dict
    build: object = None
    targets: object = None
    scores: object = None
    prepare: object = None
    retrain_on_validation: bool = True


APPS = {
    "classification": AppTuning(models.SEARCH_SPACE, _classifier,
                                lambda images: (images.y_train, images.y_val)),
    "autoencoder": AppTuning(autoencoders.SEARCH_SPACE, _autoencoder,
                             lambda images: (images.x_train, images.x_val),
                             prepare=_trained_whole),
    # Scored on a half of WordSim-353; the training corpus has no split.
    "word2vec": AppTuning(word2vec.SEARCH_SPACE,
                          scores=lambda m: {"val_similarity": m["similarity"]["dev_spearman"]},
                          retrain_on_validation=False),
    # The few labelled examples are drawn from the training split, so a
    # larger one would draw others: the best is retrained on the same ones.
    "transfer": AppTuning(transfer.SEARCH_SPACE,
                          scores=lambda m: {"val_accuracy": m["results"][-1]["val_accuracy"]},
                          prepare=_one_transfer_run, retrain_on_validation=False),
    "gan": AppTuning(gan.SEARCH_SPACE, scores=lambda m: {"val_fid": m["val_fid"]},
                     prepare=_with_validation),
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
    """

    def __init__(self, config, tuning, input_shape, num_classes, train_size, objective):
        super().__init__(name=config["app"])
        self.config, self.tuning, self.space = config, tuning, tuning.space
        self.input_shape, self.num_classes = input_shape, num_classes
        self.train_size, self.objective = train_size, objective

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
        config = self.config_for(hp)
        kwargs.pop("verbose", None)
        history = training.fit(model, (x, y), validation_data, epochs=epochs,
                               batch_size=config["batch_size"], callbacks=callbacks,
                               **kwargs)
        scores = history.history[self.objective]
        best = min(scores) if _lower_is_better(self.objective) else max(scores)
        return {self.objective: best, **_memory_mb()}


class _SessionDone(Exception):
    """Raised when a search process has run its share of trials."""


class _Session:
    """Makes a keras-tuner tuner announce each trial (its number, out of how
    many, and its hyperparameters) and, when `session_trials` is set, stop
    after that many trials, so that another process can resume the search.

    Args:
        space: the search space, whose values are announced.
        max_trials: shown in the progress lines, or `None`.
        session_trials: trials to run before raising `_SessionDone`, or
            `None` for all.
        **kwargs: for the tuner.
    """

    def __init__(self, *, space, max_trials=None, session_trials=None, **kwargs):
        if max_trials is not None:
            kwargs["max_trials"] = max_trials
        super().__init__(**kwargs)
        self.space, self.announced_max = space, max_trials
        self.session_trials, self.trials_run = session_trials, 0

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        of = f"/{self.announced_max}" if self.announced_max else ""
        values = {k: f"{v:.3g}" if isinstance(v, float) else v
                  for k, v in trial.hyperparameters.values.items() if k in self.space}
        print(f"Trial {int(trial.trial_id) + 1}{of}: {values}", flush=True)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self.trials_run += 1
        # A search known to be over ends here rather than in another process.
        if self.trials_run == self.session_trials and self.oracle.remaining_trials != 0:
            raise _SessionDone


class _RunTrials:
    """Makes a keras-tuner tuner run each trial as a whole run of the app
    (keras-tuner's black-box use of `run_trial`), in `DIR/search/trials/ID`.

    Hyperband's trials train for the epochs it gives them, from new weights.

    Args:
        app: the app module, whose `train_and_evaluate` runs a trial.
        config: the app config the samples start from.
        tuning: the app's `AppTuning`.
        **kwargs: for the tuner.
    """

    def __init__(self, *, app, config, tuning, **kwargs):
        super().__init__(**kwargs)
        self.app, self.config, self.tuning = app, config, tuning
        # Declared up front, as a HyperModel's build would: Hyperband draws
        # nothing from an empty space.
        space = self.oracle.get_space()
        sample(space, tuning.space)
        self.oracle.update_space(space)

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        config = apply(self.config, sample(hp, self.tuning.space))
        if "tuner/epochs" in hp.values:
            config["epochs"] = hp.values["tuner/epochs"]
        keras.backend.clear_session()
        backend.clear_caches()
        gc.collect()
        metrics = self.app.train_and_evaluate(
            config, Path(self.project_dir) / "trials" / trial.trial_id, overwrite=True)
        return {**self.tuning.scores(metrics), **_memory_mb()}


def _make_tuner(app, config, tuner, objective, max_trials, output_dir, session_trials=None):
    """Makes the keras-tuner tuner of a search (new, or reloaded from
    `output_dir/search`).

    Returns:
        `(tuner, search_args, search_kwargs)`: the tuner, and what its
        `search` takes.
    """
    app_tuning = APPS[config["app"]]
    size = ({"max_epochs": config["epochs"]} if tuner == "hyperband"
            else {"max_trials": max_trials})
    settings = {"objective": kt.Objective(objective, "min" if _lower_is_better(objective)
                                          else "max"),
                "seed": config["seed"], "directory": str(output_dir),
                "project_name": "search", "overwrite": False, "space": app_tuning.space,
                "session_trials": session_trials, **size}
    keras.utils.set_random_seed(config["seed"])
    tuner_class = TUNER_CLASSES[tuner]
    if app_tuning.build is None:
        made = type(f"{tuner_class.__name__}OfRuns", (_Session, _RunTrials, tuner_class), {})
        return made(app=app, config=config, tuning=app_tuning, **settings), (), {}
    images = data.load_run_images(config)
    hypermodel = AppHyperModel(config, app_tuning, images.input_shape, images.num_classes,
                               len(images.x_train), objective)
    train_targets, val_targets = app_tuning.targets(images)
    made = type(f"{tuner_class.__name__}InSessions", (_Session, tuner_class), {})
    return (made(hypermodel=hypermodel, **settings), (images.x_train, train_targets),
            {"epochs": config["epochs"], "validation_data": (images.x_val, val_targets),
             "verbose": 0})


# The exit status of a search process that ran its share of the trials and
# left the rest to the next one.
_MORE_TRIALS = 3


def _search_part(app_module, config, tuner, objective, max_trials, output_dir,
                 session_trials):
    """Runs up to `session_trials` trials of a search, in a process of its own."""
    app = importlib.import_module(app_module)
    try:
        search, args, kwargs = _make_tuner(app, config, tuner, objective, max_trials,
                                           output_dir, session_trials)
        search.search(*args, **kwargs)
    except _SessionDone:
        sys.exit(_MORE_TRIALS)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def _search_in_processes(app, config, tuner, objective, max_trials, output_dir,
                         trials_per_process):
    """Runs a search `trials_per_process` trials at a time, each share in a
    new process that resumes it, so that what a backend keeps after a trial
    (TensorFlow keeps some of every `fit`, even after
    `keras.backend.clear_session()`) is freed with the process."""
    context = multiprocessing.get_context("spawn")
    while True:
        part = context.Process(target=_search_part, args=(
            app.__name__, config, tuner, objective, max_trials, str(output_dir),
            trials_per_process))
        part.start()
        part.join()
        if part.exitcode == 0:
            return
        if part.exitcode != _MORE_TRIALS:
            raise UsageError(f"The search stopped (a search process exited with status "
                             f"{part.exitcode}; see above); continue it with --resume")


def saved_trials(output_dir):
    """The trials of the search in `output_dir`, as keras-tuner saved them
    (`search/trial_*/trial.json`), without building its tuner (for fit
    apps, that loads the data and builds a model)."""
    return [kt.engine.trial.Trial.load(str(path))
            for path in (Path(output_dir) / "search").glob("trial_*/trial.json")]


def _trial_rows(trials, space, objective):
    rows = []
    for trial in sorted(trials, key=lambda t: int(t.trial_id)):
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


def write_trials(trials, space, objective, output_dir):
    """Writes `trials.csv`, `trials.md` (sorted by the objective),
    `best_hyperparameters.json` and `objective.png` for the `trials` of a
    finished search (keras-tuner `Trial`s).

    Returns:
        The completed trials as dicts, best first.
    """
    rows = _trial_rows(trials, space, objective)
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


def tune(app, config, *, tuner, max_trials, objective, output_dir, resume=False,
         trials_per_process=1):
    """Searches the app's space (`APPS`) for its objective (`TUNABLE_APPS`),
    then retrains the best configuration with the app's own
    `train_and_evaluate` (on train plus validation where the app has a
    validation split, except for the transfer app's few labels) and
    evaluates it on the test split.

    Args:
        app: the app module, whose `train_and_evaluate` retrains the best.
        config: the app config the search starts from (from its flags).
        tuner: one of `TUNERS`.
        max_trials: trials to run in all (Hyperband sizes itself from
            `config["epochs"]` instead).
        objective: a validation metric, such as `"val_accuracy"` (of `fit`,
            or among the app's `scores`), or `None` for the app's default.
        output_dir: the folder of the search: `search.json` (its settings,
            seed included), `search/` (keras-tuner's state), the trial tables
            and plot, and `best/` (the retrained run).
        resume: continue the search in `output_dir`. Without it, an existing
            search is refused rather than silently reloaded.
        trials_per_process: run the search this many trials at a time, each
            share in a new process, so that memory stays flat over a long
            search; 0 runs it all in this process.

    Returns:
        The retrained model's metrics, with the best hyperparameters.

    Raises:
        UsageError: for an unknown app or tuner, a search to resume that
            does not exist, or an existing one without `resume`.
    """
    check_choice("tuner", tuner, TUNERS)
    app_tuning = APPS[check_choice("tunable app", config["app"], APPS)]
    objective = objective or TUNABLE_APPS[config["app"]]
    if app_tuning.prepare:
        config = app_tuning.prepare(config)
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

    space = app_tuning.space
    print(f"Searching with {tuner}: {'resuming' if resume else 'new search'} in "
          f"{output_dir}", flush=True)
    if trials_per_process:
        _search_in_processes(app, config, tuner, objective, max_trials, output_dir,
                             trials_per_process)
    else:
        search, args, kwargs = _make_tuner(app, config, tuner, objective, max_trials,
                                           output_dir)
        search.search(*args, **kwargs)
    ranked = write_trials(saved_trials(output_dir), space, objective, output_dir)
    best = {k: ranked[0][k] for k in space}
    print(f"Trials completed: {len(ranked)}; the best, {objective} "
          f"{ranked[0][objective]:.4f}, had {best}. Retraining it"
          f"{' on train + validation' if app_tuning.retrain_on_validation else ''}.",
          flush=True)
    best_config = apply(config, best)
    if app_tuning.retrain_on_validation:
        best_config["validation_size"] = 0
    metrics = app.train_and_evaluate(best_config, output_dir / "best", overwrite=resume)
    return {**metrics, "best_hyperparameters": best}
