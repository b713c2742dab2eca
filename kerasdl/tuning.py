"""Hyperparameter search with keras-tuner over any app.

An app declares what `kerasdl tune` needs in its `TUNING` dict: the search
space (data: each entry names a config key or builder option and the values
to try, see `sample`), the objective (a validation figure among the metrics
that its `train_and_evaluate` returns) and its direction, and optionally
`prepare` (config -> the config trials start from) and
`retrain_on_validation`. Every trial is a whole run of the app's own
`train_and_evaluate` (keras-tuner's black-box use of `run_trial`), so there is
no second model definition. Trials run a few at a time in processes of their
own, so that memory stays flat over a long search. This module knows no app.
"""

import csv
import dataclasses
import gc
import json
import multiprocessing
import os
import resource
import socket
import sys
import time
from pathlib import Path

import keras
import keras_tuner as kt
from matplotlib.figure import Figure

from kerasdl import backend, flags, runs
from kerasdl.callbacks.nan import Diverged
from kerasdl.errors import UsageError, check_choice
from kerasdl.names import TUNERS

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


def direction(spec, objective):
    """"min" or "max": the app's declared direction for its own objective;
    for another, losses and FIDs are minimised and the rest maximised."""
    if objective == spec["objective"]:
        return spec["direction"]
    return "min" if objective.endswith(("loss", "fid")) else "max"


def _memory_mb():
    """This process' resident memory now as `rss_mb` (left out where /proc
    is missing) and its peak so far as `peak_rss_mb`, in MB."""
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KB.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    statm = Path("/proc/self/statm")
    now = ({"rss_mb": int(statm.read_text().split()[1]) * resource.getpagesize() / 2**20}
           if statm.exists() else {})
    return {"peak_rss_mb": peak, **now}


def score(metrics, objective):
    """The value of `objective` in a run's `metrics`.

    Raises:
        UsageError: when the run reported no such figure.
    """
    if objective not in metrics:
        numbers = [k for k, v in metrics.items() if isinstance(v, (int, float))
                   and k.startswith("val_")]
        raise UsageError(f"Unknown objective: {objective!r}; the app's runs report "
                         f"{', '.join(numbers) or 'no validation figure'}")
    return metrics[objective]


class _SessionDone(Exception):
    """Raised when a search process has run its share of trials."""


class _StopSearch(UsageError, kt.errors.FatalError):
    """A user error in a trial (an unknown objective, say), which would be
    the same in every trial: keras-tuner re-raises it at once instead of
    retrying the trial."""


class _Trials:
    """Makes a keras-tuner tuner run each trial as a whole run of the app in
    `DIR/search/trials/ID`, announce it (its number, out of how many, its
    hyperparameters, the best trial so far and the time left) and, when
    `session_trials` is set, stop after that many trials, so that another
    process can resume the search. Hyperband's
    trials train for the epochs it gives them, from new weights.

    Args:
        run: the app's `train_and_evaluate(config, output_dir, overwrite)`.
        config: the app config the samples start from.
        space: the search space.
        max_trials: shown in the progress lines, or `None`.
        session_trials: trials to run before raising `_SessionDone`, or
            `None` for all.
        **kwargs: for the tuner; its `objective` is a `kt.Objective`.
    """

    def __init__(self, *, run, config, space, max_trials=None, session_trials=None,
                 quiet=False, **kwargs):
        if max_trials is not None:
            kwargs["max_trials"] = max_trials
        super().__init__(**kwargs)
        self.run, self.config, self.space = run, config, space
        self.announced_max, self.session_trials, self.trials_run = max_trials, session_trials, 0
        self.quiet = quiet
        # Declared up front, as a HyperModel's build would: Hyperband draws
        # nothing from an empty space.
        declared = self.oracle.get_space()
        sample(declared, space)
        self.oracle.update_space(declared)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        of = f"/{self.announced_max}" if self.announced_max else ""
        values = {k: f"{v:.3g}" if isinstance(v, float) else v
                  for k, v in trial.hyperparameters.values.items() if k in self.space}
        if not self.quiet:
            print(f"Trial {int(trial.trial_id) + 1}{of}: {values}{self._so_far(trial)}",
                  flush=True)

    def _so_far(self, trial):
        """'; best so far: ..., about N min left', from the completed trials
        (those of earlier search processes included); '' before the first."""
        # A worker asks the chief, whose answer may lack the score.
        best = [t for t in self.oracle.get_best_trials(1) if t.score is not None]
        if not best:
            return ""
        text = (f"; best so far {self.oracle.objective.name} {best[0].score:.4g} "
                f"(trial {int(best[0].trial_id) + 1})")
        # A worker's oracle holds no trials: the time left is the chief's to know.
        trials = getattr(self.oracle, "trials", {})
        done = [t for t in trials.values() if t.status == "COMPLETED"]
        seconds = [t.metrics.get_last_value("trial_seconds") for t in done
                   if t.metrics.exists("trial_seconds")]
        if seconds and self.announced_max:
            left = sum(seconds) / len(seconds) * (self.announced_max - int(trial.trial_id))
            text += f", about {left / 60:.0f} min left" if left >= 90 else f", {left:.0f} s left"
        return text

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        config = apply(self.config, sample(hp, self.space))
        if "tuner/epochs" in hp.values:
            config["epochs"] = hp.values["tuner/epochs"]
        keras.backend.clear_session()
        backend.clear_caches()
        gc.collect()
        name = self.oracle.objective.name
        start = time.perf_counter()
        try:
            with flags.silenced(self.quiet):
                metrics = self.run(config, Path(self.project_dir) / "trials" / trial.trial_id,
                                   overwrite=True)
            return {name: score(metrics, name), "trial_seconds": time.perf_counter() - start,
                    **_memory_mb()}
        except Diverged as error:  # this trial fails; the search goes on
            raise kt.errors.FailedTrialError(str(error)) from None
        except UsageError as error:
            raise _StopSearch(str(error)) from None

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self.trials_run += 1
        # A search known to be over ends here rather than in another process.
        if self.trials_run == self.session_trials and self.oracle.remaining_trials != 0:
            raise _SessionDone


def _make_tuner(search, session_trials=None):
    """Makes the keras-tuner tuner of `search` (a `Search`), new or reloaded
    from its `output_dir/search`."""
    config = search.config
    size = ({"max_epochs": config["epochs"]} if search.tuner == "hyperband"
            else {"max_trials": search.max_trials})
    keras.utils.set_random_seed(config["seed"])
    tuner_class = TUNER_CLASSES[search.tuner]
    made = type(f"{tuner_class.__name__}OfRuns", (_Trials, tuner_class), {})
    return made(run=search.run, config=config, space=search.space,
                session_trials=session_trials, quiet=search.quiet,
                objective=kt.Objective(search.objective, search.direction),
                seed=config["seed"], directory=str(search.output_dir),
                project_name="search", overwrite=False, **size)


@dataclasses.dataclass(frozen=True)
class Search:
    """What one search runs: the app's `run` function (its
    `train_and_evaluate`), the config and space, the tuner, the objective
    and its direction, the trials and the folder."""

    run: object
    config: dict
    space: dict
    tuner: str
    objective: str
    direction: str
    max_trials: int
    output_dir: Path
    quiet: bool = False


# The exit status of a search process that ran its share of the trials and
# left the rest to the next one.
_MORE_TRIALS = 3


def _search_part(search, session_trials, errors):
    """Runs up to `session_trials` trials of `search`, in a process of its
    own; a user error goes back through the queue `errors`."""
    try:
        _make_tuner(search, session_trials).search(verbose=int(not search.quiet))
    except _SessionDone:
        sys.exit(_MORE_TRIALS)
    except UsageError as error:
        errors.put(str(error))
        sys.exit(2)


def _search_in_processes(search, trials_per_process):
    """Runs `search` `trials_per_process` trials at a time, each share in a
    new process that resumes it, so that what a backend keeps after a trial
    (TensorFlow keeps some of every `fit`, even after
    `keras.backend.clear_session()`) is freed with the process. The app's
    `run` function travels to that process by reference, as `pickle` sends
    a function; the environment carries the backend."""
    context = multiprocessing.get_context("spawn")
    errors = context.SimpleQueue()
    while True:
        part = context.Process(target=_search_part, args=(search, trials_per_process, errors))
        part.start()
        part.join()
        if part.exitcode == 0:
            return
        if not errors.empty():
            raise UsageError(errors.get())
        if part.exitcode != _MORE_TRIALS:
            raise UsageError(f"The search stopped (a search process exited with status "
                             f"{part.exitcode}; see above); continue it with --resume")


def _search_role(search, role, address, errors):
    """Runs one process of a search shared by workers (keras-tuner's
    distributed mode): the chief serves the oracle at `address`, a worker
    runs the trials the chief gives it; a user error goes back through the
    queue `errors`."""
    host, port = address.rsplit(":", 1)
    os.environ.update(KERASTUNER_TUNER_ID=role, KERASTUNER_ORACLE_IP=host,
                      KERASTUNER_ORACLE_PORT=port)
    try:
        _make_tuner(search).search(verbose=int(not search.quiet))
    except UsageError as error:
        errors.put(str(error))
        sys.exit(2)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _search_with_workers(search, workers, address=None, role=None, restarts=3):
    """Runs `search` on `workers` processes that share one oracle, served by
    a chief process (keras-tuner's distributed mode, over gRPC). A worker
    that dies is started again under its name, and the chief gives it back
    its unfinished trial; finished trials are the chief's, and kept.

    Args:
        search: the `Search`.
        workers: the worker processes to start on this machine.
        address: the chief's "HOST:PORT"; by default a free port on loopback.
        role: `None` (the chief and the workers here), "chief" (the chief
            and `workers` workers here, more elsewhere) or "worker" (only
            workers here, named after this host, for a chief elsewhere).
        restarts: how many times a worker is started again.

    A worker waits for its chief as keras-tuner's client does, up to an
    hour for each call; the chief ends once every worker that joined it has
    ended, and waits for one that died elsewhere until its command runs
    again.
    """
    context = multiprocessing.get_context("spawn")
    errors = context.SimpleQueue()
    address = address or f"127.0.0.1:{_free_port()}"
    # Named after the host (one worker command per host), so that the same
    # command run again takes back a dead worker's trial; keras-tuner takes
    # any id that holds "chief" for the chief's.
    host = socket.gethostname().replace("chief", "host")
    prefix = f"worker-{host}-" if role == "worker" else "worker"

    def start(name):
        process = context.Process(target=_search_role, args=(search, name, address, errors))
        process.start()
        return process

    def user_error():
        if not errors.empty():
            raise UsageError(errors.get())

    chief, team, finished = None, {}, False

    def done():  # the chief ends once every worker that joined it has ended
        if chief is None:
            return all(process.exitcode == 0 for process in team.values())
        if chief.exitcode not in (None, 0):
            raise UsageError(f"The search's chief stopped (exit status {chief.exitcode}; "
                             "see above); continue the search with --resume")
        return chief.exitcode == 0

    try:
        chief = None if role == "worker" else start("chief")
        team = {f"{prefix}{i}": start(f"{prefix}{i}") for i in range(workers)}
        left = dict.fromkeys(team, restarts)
        while not done():
            time.sleep(0.5)
            user_error()
            for name, process in team.items():
                if process.exitcode in (None, 0):
                    continue
                user_error()  # it may have put its error just now
                if not left[name]:
                    raise UsageError(f"{name} stopped {restarts + 1} times (exit status "
                                     f"{process.exitcode}); continue the search with --resume")
                left[name] -= 1
                print(f"{name} stopped (exit status {process.exitcode}); starting it again "
                      "to run its trial", flush=True)
                team[name] = start(name)
        finished = True
    finally:  # the chief has saved every trial that ended
        for process in (*team.values(), *([chief] if chief else [])):
            process.join(timeout=60 if finished and process.exitcode is None else 0)
            if process.is_alive():
                process.terminate()
                process.join()


def saved_trials(output_dir):
    """The trials of the search in `output_dir`, as keras-tuner saved them
    (`search/trial_*/trial.json`), without building its tuner."""
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


def write_trials(trials, space, objective, output_dir, lower_is_better):
    """Writes `trials.csv`, `trials.md` (sorted by the objective),
    `best_hyperparameters.json` and `objective.png` for the `trials` of a
    finished search (keras-tuner `Trial`s), ranked by `objective` (smallest
    first when `lower_is_better`).

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
    ranked = sorted(rows, key=lambda r: r[objective], reverse=not lower_is_better)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(str(v) for v in r.values()) + " |" for r in ranked]
    (output_dir / "trials.md").write_text("\n".join(lines) + "\n")
    best = {k: ranked[0][k] for k in space}
    runs.write_json(output_dir / "best_hyperparameters.json", best)

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


def tune(run, spec, config, *, tuner, max_trials, objective, output_dir, resume=False,
         trials_per_process=1, workers=0, chief=None, role=None, quiet=False):
    """Searches an app's space for its objective, then retrains the best
    configuration with the app's own `run` (on train plus validation unless
    the app says otherwise) and evaluates it on the test split.

    Args:
        run: the app's `train_and_evaluate(config, output_dir, overwrite)`,
            which returns the run's metrics.
        spec: the app's `TUNING`: "space", "objective", "direction", and
            optionally "prepare" and "retrain_on_validation" (see the module
            docstring).
        config: the app config the search starts from (from its flags).
        tuner: one of `TUNERS`.
        max_trials: trials to run in all (Hyperband sizes itself from
            `config["epochs"]` instead).
        objective: a figure of the app's metrics, or `None` for the app's.
        output_dir: the folder of the search: `search.json` (its settings,
            seed included), `search/` (keras-tuner's state), the trial tables
            and plot, and `best/` (the retrained run).
        resume: continue the search in `output_dir`. Without it, an existing
            search is refused rather than silently reloaded.
        trials_per_process: run the search this many trials at a time, each
            share in a new process, so that memory stays flat over a long
            search; 0 runs it all in this process.
        workers: run the trials on this many worker processes at once,
            sharing one oracle (see `_search_with_workers`); 0 runs them
            one at a time, as `trials_per_process` says.
        chief, role: for a search over several hosts, the chief's
            "HOST:PORT" and this host's part, "chief" (it serves the oracle,
            runs `workers` workers, then ranks the trials and retrains the
            best) or "worker" (it runs `workers` workers, at least one, for
            the chief, and returns `None`).
        quiet: show no progress: no line per trial, no keras-tuner summaries
            and nothing that the trials' runs and the retraining print.

    Returns:
        The retrained model's metrics, with the best hyperparameters.

    Raises:
        UsageError: for an unknown tuner or objective, a search to resume
            that does not exist, or an existing one without `resume`.
    """
    check_choice("tuner", tuner, TUNERS)
    objective = objective or spec["objective"]
    if spec.get("prepare"):
        config = spec["prepare"](config)
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
    runs.write_json(saved, settings)

    search = Search(run, config, spec["space"], tuner, objective,
                    direction(spec, objective), max_trials, output_dir, quiet)
    print(f"Searching with {tuner}: {'resuming' if resume else 'new search'} in "
          f"{output_dir}", flush=True)
    if role == "worker":
        _search_with_workers(search, max(workers, 1), chief, role)
        print(f"This host's workers are done; the chief ({chief}) ranks the trials and "
              "retrains the best", flush=True)
        return None
    if workers or role:
        _search_with_workers(search, workers, chief, role)
    elif trials_per_process:
        _search_in_processes(search, trials_per_process)
    else:
        _make_tuner(search).search(verbose=int(not search.quiet))
    ranked = write_trials(saved_trials(output_dir), search.space, objective, output_dir,
                          search.direction == "min")
    best = {k: ranked[0][k] for k in search.space}
    retrain_on_validation = spec.get("retrain_on_validation", True)
    print(f"Trials completed: {len(ranked)}; the best, {objective} "
          f"{ranked[0][objective]:.4f}, had {best}. Retraining it"
          f"{' on train + validation' if retrain_on_validation else ''}.", flush=True)
    best_config = apply(config, best)
    if retrain_on_validation:
        best_config["validation_size"] = 0
    with flags.silenced(quiet):
        metrics = run(best_config, output_dir / "best", overwrite=resume)
    return {**metrics, "best_hyperparameters": best}
