"""Training configuration of BasicAMT: :class:`TrainConfig` (the JSON config file's keys) and the
choice of numeric precision on a given CPU (:func:`resolve_precision`).

Config files live in ``basicamt/configs``; a file may name a ``"base"`` config and give only what
differs (:meth:`TrainConfig.load`). The training loop is :mod:`septimbre.basicamt.train`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from septimbre.data.remix import DEFAULT_REMIX_GAIN_DB, check_remix_settings
from septimbre.utils.errors import MissingResourceError, ParameterError

__all__ = ["PRECISIONS", "TRAIN_CONFIG_DIR", "TRAIN_MERGED_FIELDS", "TrainConfig", "resolve_precision"]

#: Where bare training-config names (``--config train``) and ``"base"`` names are looked up.
TRAIN_CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: Training-config fields whose dict values a derived config merges key by key into its base's.
TRAIN_MERGED_FIELDS: tuple[str, ...] = ("model",)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (the JSON config file's keys; all optional).

    Attributes
    ----------
    seed : int
        Seeds the model initialisation, the per-epoch batch order and the dataset crops.
    model : dict
        :class:`~septimbre.basicamt.config.BasicAMTConfig` overrides.
    clip_seconds, val_clip_seconds : float
        Training / validation crop lengths.
    batch_size : int
    max_steps : int
        Optimizer steps of a complete run.
    lr, min_lr_ratio, warmup_steps, weight_decay, betas, grad_clip :
        AdamW with linear warm-up to ``lr`` then cosine decay to ``lr * min_lr_ratio`` at ``max_steps``;
        gradients clipped to this global norm (0 = off).
    bf16, channels_last : bool
        CPU bf16 autocast of the convolutions (the CQT front end stays float32) and channels_last
        memory format. The training command may turn bf16 off on a CPU that would emulate it
        (:func:`resolve_precision`); what a run used is in its ``train_config.json``.
    threads, num_workers : int
        torch intra-op threads; DataLoader worker processes (0 or 1 on a 2-core machine).
    checkpoint_every_steps, checkpoint_every_minutes : int, float
    log_every_steps, val_every_steps : int
    val_max_clips : int
        Validation clips scored (the first ones of the split).
    onset_loss_weight : float
        Weight of the onset focal loss in the training objective (frame + weight x onset, logged as
        ``loss``; ``frame_loss``, ``onset_loss`` and the validation losses stay unweighted, so runs
        compare). 1 in the research design.
    leak_loss_weight : float
        Multiplier of the onset loss's negatives at held pitches while another note starts
        (:func:`septimbre.model.losses.leak_mask`), the place of most same-pitch false onsets on real
        recordings; in the objective only. 1 (off) in the research design.
    positive_loss_weight : float
        Multiplier of the positive terms of both focal losses, in the objective only (a larger
        share of the focal alpha for notes: recall-leaning training). 1 in the research design.
    harmonic_loss_weight : float
        Multiplier of both focal losses (positives and negatives) at pitches a harmonic interval
        above a sounding note (:func:`septimbre.model.losses.harmonic_mask`), where harmonic ghosts
        and real octave / twelfth doublings are told apart; in the objective only. 1 in the
        research design.
    reattack_loss_weight : float
        Multiplier of the onset loss's positives at re-attacks, onsets of a pitch sounding just
        before (:func:`septimbre.model.losses.reattack_mask`): the held-pitch onsets that are real,
        which the leak weighting otherwise teaches the onset head to suppress; in the objective
        only. 1 in the research design.
    unbroken_reattack_loss_weight : float or None
        If given (>= 0), the multiplier at the re-attacks with no break in the labels
        (:func:`septimbre.model.losses.unbroken_reattack_mask`) instead of ``reattack_loss_weight``:
        0 ignores those onsets, which FluidSynth renders nearly inaudible. None: same as
        ``reattack_loss_weight``.
    onset_spread : float
        Soft onset target (0..1) given to the frames just before and after each onset in the
        objective's onset term (:func:`septimbre.model.losses.spread_onsets`); the reported onset
        loss keeps one-frame targets. 0 (one-frame onsets) in the research design.
    onset_spread_frames : int
        How far (frames, >= 1) the soft onset target reaches: ``d`` frames away it is
        ``onset_spread ** d``. 1 (the default) softens only the two neighbours.
    train_only : tuple of str
        Module names whose parameters are trained (a name covers its submodules, e.g.
        ``["onset_spectral", "onset_hidden", "onset_head"]`` for the onset branch); empty, the
        default, trains everything. The rest is frozen: no gradient, not in the optimizer, and its
        BatchNorm statistics kept (eval mode). A name matching no parameter is an error.
    remix_prob : float
        Chance that a training item is a remix (:mod:`septimbre.data.remix`): some of its crop's
        stems and some of a random other example's, at new levels, summed over its own noise,
        with the union of their labels. 0 (the default; every run before session 21's
        ``finetune_b13_remix``) serves the examples as rendered. Validation is never remixed.
    remix_gain_db : (float, float)
        Per-stem level change of a remix, dB (uniform).
    ema_decay : float
        0 (the default): the saved model is the trained weights. In (0, 1): training also keeps an
        exponential moving average of the weights (:mod:`septimbre.model.ema`, decay ramped up over
        the first steps), and the saved model and its quick validation are the average's; the
        trained weights are saved beside it as ``basicamt_raw``. Training itself is unchanged.
    teachers : tuple of str
        Saved models (stems: ``STEM.pt`` + ``STEM.json``, relative to the working directory) whose
        averaged posteriors the objective also fits (knowledge distillation; empty, the default,
        trains on the labels only). Each step runs every teacher on the batch, without gradients,
        and adds ``distill_weight`` x :func:`septimbre.model.losses.distillation_loss` to the
        objective; ``frame_loss``, ``onset_loss`` and the validation losses stay against the labels.
    distill_weight : float
        Weight of the distillation term; > 0 exactly when ``teachers`` is given.
    quick_onset_threshold, quick_frame_threshold, quick_min_note_ms : float
        Decoding thresholds of the quick validation note / frame F1.
    """

    seed: int = 1234
    model: dict = field(default_factory=dict)
    clip_seconds: float = 10.0
    val_clip_seconds: float = 10.0
    batch_size: int = 8
    max_steps: int = 6000
    lr: float = 3e-3
    min_lr_ratio: float = 0.03
    warmup_steps: int = 200
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0
    bf16: bool = True
    channels_last: bool = True
    threads: int = 2
    num_workers: int = 1
    checkpoint_every_steps: int = 250
    checkpoint_every_minutes: float = 10.0
    log_every_steps: int = 10
    val_every_steps: int = 500
    val_max_clips: int = 48
    onset_loss_weight: float = 1.0
    leak_loss_weight: float = 1.0
    positive_loss_weight: float = 1.0
    harmonic_loss_weight: float = 1.0
    reattack_loss_weight: float = 1.0
    unbroken_reattack_loss_weight: float | None = None
    onset_spread: float = 0.0
    onset_spread_frames: int = 1
    train_only: tuple[str, ...] = ()
    remix_prob: float = 0.0
    remix_gain_db: tuple[float, float] = DEFAULT_REMIX_GAIN_DB
    ema_decay: float = 0.0
    teachers: tuple[str, ...] = ()
    distill_weight: float = 0.0
    quick_onset_threshold: float = 0.5
    quick_frame_threshold: float = 0.3
    quick_min_note_ms: float = 60.0

    def __post_init__(self) -> None:
        if not self.onset_loss_weight > 0:
            raise ParameterError(f"onset_loss_weight must be > 0, got {self.onset_loss_weight}")
        if not self.leak_loss_weight > 0:
            raise ParameterError(f"leak_loss_weight must be > 0, got {self.leak_loss_weight}")
        if not self.positive_loss_weight > 0:
            raise ParameterError(f"positive_loss_weight must be > 0, got {self.positive_loss_weight}")
        if not self.harmonic_loss_weight > 0:
            raise ParameterError(f"harmonic_loss_weight must be > 0, got {self.harmonic_loss_weight}")
        if not self.reattack_loss_weight > 0:
            raise ParameterError(f"reattack_loss_weight must be > 0, got {self.reattack_loss_weight}")
        if not 0.0 <= self.onset_spread <= 1.0:
            raise ParameterError(f"onset_spread must be in [0, 1], got {self.onset_spread}")
        if not (isinstance(self.onset_spread_frames, int) and self.onset_spread_frames >= 1):
            raise ParameterError(f"onset_spread_frames must be an int >= 1, got {self.onset_spread_frames!r}")
        check_remix_settings(self.remix_prob, self.remix_gain_db)
        if not self.distill_weight >= 0:
            raise ParameterError(f"distill_weight must be >= 0, got {self.distill_weight}")
        if bool(self.teachers) != (self.distill_weight > 0):
            raise ParameterError("teachers and distill_weight go together: give teacher models and a "
                                 f"distill_weight > 0, or neither (got {len(self.teachers)} teachers, "
                                 f"distill_weight {self.distill_weight})")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ParameterError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.unbroken_reattack_loss_weight is not None and not self.unbroken_reattack_loss_weight >= 0:
            raise ParameterError("unbroken_reattack_loss_weight must be None or >= 0, got "
                                 f"{self.unbroken_reattack_loss_weight}")

    def loss_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`septimbre.model.losses.transcription_loss` this config
        trains with (its loss recipe)."""
        return {
            "onset_weight": self.onset_loss_weight, "leak_weight": self.leak_loss_weight,
            "positive_weight": self.positive_loss_weight, "harmonic_weight": self.harmonic_loss_weight,
            "reattack_weight": self.reattack_loss_weight,
            "unbroken_reattack_weight": self.unbroken_reattack_loss_weight,
            "onset_spread": self.onset_spread, "onset_spread_frames": self.onset_spread_frames,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """From a JSON dict; unknown keys are an error (typos must not pass silently)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names - {"comment"}
        if unknown:
            raise ParameterError(f"unknown training config keys: {sorted(unknown)}")
        tuples = ("betas", "train_only", "remix_gain_db", "teachers")
        clean = {k: (tuple(v) if k in tuples else v) for k, v in data.items() if k != "comment"}
        return cls(**clean)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Load a training config file; a bare name like ``"train"`` means ``basicamt/configs/train.json``.

        A file may name another config as its ``"base"`` and give only what differs; ``model``
        merges key by key into the base's, the other keys replace
        (:func:`septimbre.utils.config_files.load_derived_json`).
        """
        from septimbre.utils.config_files import config_path, load_derived_json

        p = config_path(path, TRAIN_CONFIG_DIR)
        if not p.is_file():
            raise MissingResourceError(f"training config not found: {p}")
        return cls.from_dict(load_derived_json(p, config_dir=TRAIN_CONFIG_DIR, merged_fields=TRAIN_MERGED_FIELDS))


#: Choices of ``--precision``: see :func:`resolve_precision`.
PRECISIONS: tuple[str, ...] = ("auto", "config", "bf16", "fp32")


def resolve_precision(cfg: TrainConfig, precision: str, *, native: bool) -> TrainConfig:
    """The config a run uses on this CPU for a ``--precision`` choice.

    ``"config"`` keeps the config's ``bf16``; ``"bf16"`` / ``"fp32"`` force bf16 autocast on / off;
    ``"auto"`` (the command's default) keeps the config's choice where the CPU computes bf16
    natively (``native``) and trains in fp32 where it would be emulated (about 5x slower than fp32
    on an AVX2-only CPU: ``python -m septimbre.basicamt.bench``). ``channels_last`` is kept: it is
    the faster layout in fp32 too on the CPUs measured. Raises :class:`ParameterError` for an
    unknown choice.
    """
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "config":
        return cfg
    if precision == "auto":
        return cfg if native or not cfg.bf16 else dataclasses.replace(cfg, bf16=False)
    return dataclasses.replace(cfg, bf16=precision == "bf16")
