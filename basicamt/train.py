"""Train BasicAMT on CPU from the data engine's rendered splits.

Usage::

    python -m septimbre.basicamt.train --config basicamt/configs/train.json \\
        --data DATA/train [DATA/train2 ...] --val DATA/val --out runs/NAME [--resume] [--init STEM] [--max-minutes M] \\
        [--precision auto] [--compile]

Everything the run needs is in the JSON config (:class:`~septimbre.basicamt.train_config.TrainConfig`):
seed, architecture overrides, clip length, batch size, AdamW + warm-up/cosine learning-rate schedule,
bf16 autocast and channels_last (``--precision auto``, the default, trains in fp32 instead of bf16
on a CPU without native bf16), checkpoint and validation cadence. The run folder receives

- ``train_config.json``: the config the latest call used (plus the data folders and precision);
- ``checkpoint.pt``: model, optimizer and scheduler state dicts, step, epoch, position in the epoch
  and the torch RNG state (``torch.load(..., weights_only=True)``-loadable), written every
  ``checkpoint_every_steps`` steps or ``checkpoint_every_minutes`` minutes, at the end, at the
  ``--max-minutes`` budget and on SIGTERM / Ctrl-C (after the step in flight);
- ``log.jsonl``: one JSON object per line, ``{"kind": "train", step, epoch, lr, loss, frame_loss,
  onset_loss, [distill_loss,] seconds_per_step, elapsed_s}`` every ``log_every_steps`` steps and ``{"kind": "val",
  step, val_loss, val_frame_loss, val_onset_loss, note_f1, note_precision, note_recall, frame_f1,
  ...}`` every ``val_every_steps`` steps, after one ``{"kind": "segment", step, resumed, bf16, compiled,
  threads, config_changes, provenance}`` per call, so a run resumed with other settings (another
  ``--precision`` on another CPU, say) says which steps trained how: ``--resume`` also warns when the
  settings differ from the checkpoint's (:func:`config_changes`);
- ``basicamt.pt`` / ``basicamt.json``: the model (:func:`septimbre.model.io.save_model`), rewritten at
  every checkpoint, with default thresholds until ``python -m septimbre.basicamt.tune`` sets them;
  with ``ema_decay`` > 0 they hold the weight average and ``basicamt_raw.pt`` / ``.json`` the
  trained weights.

From the command line the trainer re-runs itself under tcmalloc when it is installed
(``--allocator``, :mod:`septimbre.utils.allocator`): the same numbers, faster steps.

``--resume`` continues from ``checkpoint.pt`` exactly: the batches are a function of (seed, epoch,
position) — a seeded permutation per epoch and the dataset's per-(epoch, item) crops — so a resumed
run sees the same batches in the same order as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from septimbre.basicamt.train_config import (  # re-exported: the config belongs to this command
    PRECISIONS,
    TRAIN_CONFIG_DIR,
    TRAIN_MERGED_FIELDS,
    TrainConfig,
    resolve_precision,
)
from septimbre.model.ema import ema_decay_at, ema_start, ema_update
from septimbre.utils.allocator import ALLOCATORS, rerun_under
from septimbre.utils.errors import MissingResourceError, ParameterError, SeptimbreError, require

__all__ = ["PRECISIONS", "TRAIN_CONFIG_DIR", "TRAIN_MERGED_FIELDS", "TrainConfig", "TrainResult", "config_changes",
           "load_teachers", "main", "native_bf16", "resolve_precision", "step_loss_fn", "train"]

logger = logging.getLogger(__name__)

#: Thresholds written with a model before tuning (tune.py replaces them).
UNTUNED_THRESHOLDS: dict[str, float] = {"onset_threshold": 0.5, "frame_threshold": 0.3, "min_note_ms": 60.0}
CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.jsonl"
MODEL_STEM = "basicamt"
#: With ``ema_decay``, the trained weights (the saved model, MODEL_STEM, is their average).
RAW_MODEL_STEM = "basicamt_raw"


@dataclass(frozen=True)
class TrainResult:
    """What a call of :func:`train` did."""

    step: int
    complete: bool
    stopped_by: str  # "max_steps", "time_budget", "signal"
    last_train_loss: float
    last_val: dict | None
    out_dir: Path


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of ``cfg.lr`` at optimizer step ``step`` (0-based): linear warm-up, cosine decay."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    t = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def epoch_order(n_items: int, *, seed: int, epoch: int):
    """The item order of ``epoch``: a permutation seeded by (seed, epoch)."""
    import torch

    g = torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))
    return torch.randperm(n_items, generator=g).tolist()


def _collate(items: list[dict]) -> dict:
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in ("audio", "onset", "frame")}


class _StopFlag:
    """SIGTERM / SIGINT set a flag checked between steps; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._old: dict = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread: no handlers (tests)
                pass
        return self

    def _handle(self, signum, frame) -> None:
        if self.reason is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.reason = "signal"
        logger.warning("signal %d: stopping after the current step (checkpoint follows)", signum)

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def config_changes(checkpoint_config: dict | None, cfg: TrainConfig) -> dict:
    """The settings of ``cfg`` that differ from those a checkpoint was written with.

    ``checkpoint_config`` is the checkpoint's ``config`` entry, parsed (None for a checkpoint without
    one). Returns ``{field: {"checkpoint": old, "now": new}}``, empty when nothing changed; fields the
    checkpoint lacks (added to :class:`TrainConfig` later) count as changed only when ``cfg`` gives them
    a value other than their default. ``bf16`` is there when a resume switches precision (for example
    ``--precision auto`` on a CPU with native bf16 after one without).
    """
    if checkpoint_config is None:
        return {}
    now = json.loads(json.dumps(dataclasses.asdict(cfg)))
    defaults = json.loads(json.dumps(dataclasses.asdict(TrainConfig())))
    changes = {}
    for key, value in now.items():
        old = checkpoint_config.get(key, defaults.get(key))
        if old != value:
            changes[key] = {"checkpoint": old, "now": value}
    return changes


def _in_modules(name: str, modules: tuple[str, ...]) -> bool:
    """Whether the parameter or module ``name`` lies in one of ``modules`` (dotted names)."""
    return any(name == m or name.startswith(m + ".") for m in modules)


def freeze_outside(model, modules: tuple[str, ...]) -> list:
    """Freeze every parameter of ``model`` outside ``modules`` (empty: freeze nothing); returns the
    BatchNorm layers outside them, which training must keep in eval mode so their statistics stay.

    Raises :class:`ParameterError` if a name in ``modules`` matches no parameter."""
    import torch

    if not modules:
        return []
    names = [n for n, _ in model.named_parameters()]
    unknown = [m for m in modules if not any(_in_modules(n, (m,)) for n in names)]
    if unknown:
        raise ParameterError(f"train_only: no parameters under {unknown}")
    for name, p in model.named_parameters():
        p.requires_grad_(_in_modules(name, modules))
    return [m for name, m in model.named_modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and not _in_modules(name, modules)]


def _build_model(cfg: TrainConfig):
    import torch
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig

    torch.manual_seed(cfg.seed)
    return BasicAMT(BasicAMTConfig.from_dict(dict(cfg.model)))


def _validate(model, val_set, cfg: TrainConfig) -> dict:
    """Validation losses (float32) and quick pooled note / frame scores."""
    from septimbre.basicamt.validation import collect, score

    clips, losses = collect(model, val_set, max_clips=cfg.val_max_clips, batch_size=4)
    if not clips:
        return {}
    s = score(
        clips, onset_threshold=cfg.quick_onset_threshold, frame_threshold=cfg.quick_frame_threshold,
        min_note_ms=cfg.quick_min_note_ms,
    )
    out = {k: round(v, 6) for k, v in losses.items()}
    out.update({k: round(v, 5) for k, v in dataclasses.asdict(s).items()})
    return out


def native_bf16() -> bool:
    """Whether this CPU computes bf16 convolutions natively (AVX512-BF16 or AMX; oneDNN's check)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # an older or unusual build: do not guess
        return True


def step_loss_fn(model, *, bf16: bool, compiled: bool = False, loss_kwargs: dict | None = None,
                 teachers: tuple = (), distill_weight: float = 0.0):
    """The training objective as one callable ``(audio, onset, frame) -> TranscriptionLoss``.

    ``audio`` is ``(batch, samples)`` float32 at SAMPLE_RATE, ``onset`` and ``frame`` the targets
    ``(batch, 84, frames)``; the callable runs ``model.logits`` (under CPU bf16 autocast when
    ``bf16``) and :func:`~septimbre.model.losses.transcription_loss` with ``loss_kwargs``. With
    ``compiled`` the whole of it goes through ``torch.compile`` (inductor): the first call compiles
    (about a minute on 2 cores; again if the batch shape changes), later calls run fused kernels — the same numbers up to float rounding,
    BatchNorm running statistics included. The model's parameters and state dict are untouched, so
    checkpoints of compiled and eager runs are interchangeable.

    ``teachers`` (modules in eval mode) are run on the same audio without gradients; the mean of
    their sigmoid outputs is the soft target of ``distill_weight`` x
    :func:`~septimbre.model.losses.distillation_loss`, added to the objective (``loss.distill``).
    """
    import torch
    from septimbre.model.losses import TranscriptionLoss, distillation_loss, transcription_loss

    kwargs = dict(loss_kwargs or {})
    if compiled and not any(shutil.which(c) for c in (os.environ.get("CXX", "g++"), "g++", "clang++")):
        raise MissingResourceError("--compile needs a C++ compiler for torch.compile's inductor backend "
                                   "(apt-get install g++, or set CXX); train without --compile otherwise")

    def step_loss(audio, onset, frame):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            onset_logits, frame_logits = model.logits(audio)
        loss = transcription_loss(onset_logits, frame_logits, onset, frame, **kwargs)
        if not teachers:
            return loss
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outs = [teacher.logits(audio) for teacher in teachers]
        t_onset = torch.stack([torch.sigmoid(o.float()) for o, _ in outs]).mean(dim=0)
        t_frame = torch.stack([torch.sigmoid(f.float()) for _, f in outs]).mean(dim=0)
        distill = distillation_loss(onset_logits, frame_logits, t_onset, t_frame)
        return TranscriptionLoss(total=loss.total + distill_weight * distill, frame=loss.frame, onset=loss.onset,
                                 distill=distill)

    return torch.compile(step_loss) if compiled else step_loss


def train(
    cfg: TrainConfig,
    train_set,
    val_set,
    out_dir: str | Path,
    *,
    resume: bool = False,
    init_from: str | Path | None = None,
    max_minutes: float | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    provenance: dict | None = None,
    compiled: bool = False,
) -> TrainResult:
    """Train (or continue training) a BasicAMT; see the module docstring for the files written.

    Parameters
    ----------
    cfg : TrainConfig
    train_set, val_set : torch Dataset
        Items are dicts with ``audio`` float32 (clip_samples,), ``onset`` and ``frame`` float32
        (84, clip_frames) (plus optional ``stem_rolls`` for note references); ``train_set`` may have
        ``set_epoch(epoch)``. ``val_set`` may be None (no validation).
    out_dir : path
        Run folder.
    resume : bool
        Continue from ``out_dir/checkpoint.pt`` (error if absent).
    init_from : path stem or None
        Start a new run (not a resumed one) from the weights of a saved model, e.g.
        ``septimbre/weights/basicamt`` (fine-tuning); its architecture must equal ``cfg.model``'s.
    max_minutes : float or None
        Wall-clock budget of this call; checkpoint and return when it is reached.
    max_steps : int or None
        Stop this call at this global step (the schedule still uses ``cfg.max_steps``).
    progress : bool
        Show a tqdm progress bar.
    provenance : dict or None
        Extra JSON-able facts stored under ``training`` in the model JSON (e.g. data folders).
    compiled : bool
        Run the training step through ``torch.compile`` (:func:`step_loss_fn`): faster steps after a
        first one that compiles; validation stays eager.
    """
    import torch
    from septimbre.model.io import save_model
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, int(cfg.threads)))
    if cfg.bf16 and not native_bf16():
        logger.warning("bf16 autocast on a CPU without native bf16 is emulated and several times slower "
                       "than fp32 (python -m septimbre.basicamt.bench compares them): the command's --precision auto "
                       "trains in fp32 here")
    model = _build_model(cfg)
    if init_from is not None and not resume:
        _load_initial_weights(model, init_from)
        provenance = {**(provenance or {}), "init_from": str(init_from)}
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
        model.channels_last = True
    frozen_norms = freeze_outside(model, tuple(cfg.train_only))
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.dim() > 1 else no_decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=tuple(cfg.betas),
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg))
    step, epoch, pos = 0, 0, 0
    changes: dict = {}
    ckpt_path = out / CHECKPOINT_NAME
    if resume:
        if not ckpt_path.is_file():
            raise MissingResourceError(f"--resume: no checkpoint at {ckpt_path}")
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        step, epoch, pos = int(ck["step"]), int(ck["epoch"]), int(ck["pos"])
        torch.set_rng_state(ck["torch_rng"])
        logger.info("resumed from %s at step %d (epoch %d, item %d)", ckpt_path, step, epoch, pos)
        changes = config_changes(json.loads(ck["config"]) if "config" in ck else None, cfg)
        if changes:
            logger.warning("--resume: this call trains with other settings than the checkpoint's first %d steps "
                           "(%s); the run mixes them (log.jsonl records each call's settings)", step,
                           ", ".join(f"{k}: {v['checkpoint']} -> {v['now']}" for k, v in changes.items()))
    else:
        torch.manual_seed(cfg.seed + 1)
    average = averaged = None
    if cfg.ema_decay > 0:
        average = ema_start(model)
        if resume and "ema" in ck:
            average.update(ck["ema"])
        elif resume:
            logger.warning("--resume: the checkpoint has no weight average; it starts from the step-%d weights", step)
        averaged = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
        averaged.channels_last = False
    (out / "train_config.json").write_text(
        json.dumps({**dataclasses.asdict(cfg), "provenance": provenance or {}}, indent=2) + "\n"
    )
    n_items = len(train_set)
    if n_items < cfg.batch_size:
        raise ParameterError(f"training set has {n_items} items, fewer than batch_size {cfg.batch_size}")
    stop_at = cfg.max_steps if max_steps is None else min(cfg.max_steps, int(max_steps))
    t_start = time.monotonic()
    last_ckpt = t_start
    log_f = open(out / LOG_NAME, "a")
    last_loss, last_val, stopped_by = float("nan"), None, "max_steps"

    def log(record: dict) -> None:
        log_f.write(json.dumps(record) + "\n")
        log_f.flush()

    log({"kind": "segment", "step": step, "resumed": bool(resume), "bf16": cfg.bf16, "compiled": bool(compiled),
         "threads": cfg.threads, "config_changes": changes, "provenance": provenance or {}})

    def checkpoint(complete: bool) -> None:
        nonlocal last_ckpt
        _atomic_save(
            {
                "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "step": step, "epoch": epoch, "pos": pos, "torch_rng": torch.get_rng_state(),
                "config": json.dumps(dataclasses.asdict(cfg)),
                **({"ema": average} if average is not None else {}),
            },
            ckpt_path,
        )
        meta = dict(UNTUNED_THRESHOLDS)
        meta["thresholds_tuned"] = False
        meta["training"] = {
            "command": "python -m septimbre.basicamt.train", "config": dataclasses.asdict(cfg),
            "step": step, "complete": complete, "last_val": last_val, **(provenance or {}),
        }
        model_cpu = model.to(memory_format=torch.contiguous_format)
        if average is None:
            save_model(model_cpu, meta, out / MODEL_STEM)
        else:
            save_model(model_cpu, {**meta, "training": {**meta["training"], "weights": "trained (raw)"}},
                       out / RAW_MODEL_STEM)
            save_model(averaged_model(), {**meta, "training": {**meta["training"], "weights": f"EMA {cfg.ema_decay}"}},
                       out / MODEL_STEM)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        last_ckpt = time.monotonic()

    bar = tqdm(total=stop_at, initial=step, desc="basicamt", unit="step", disable=not progress, dynamic_ncols=True)

    def averaged_model():
        """The module holding the weight average (evaluation copy of the model)."""
        averaged.load_state_dict(average)
        return averaged

    def enter_training() -> None:
        model.train()
        for norm in frozen_norms:  # frozen layers keep their statistics
            norm.eval()

    teachers = load_teachers(cfg)
    step_loss = step_loss_fn(model, bf16=cfg.bf16, compiled=compiled, loss_kwargs=cfg.loss_kwargs(),
                             teachers=teachers, distill_weight=cfg.distill_weight)
    enter_training()
    window: list[float] = []
    t_step = time.monotonic()
    flag = _StopFlag()
    try:
        with flag:
            while step < stop_at:
                if hasattr(train_set, "set_epoch"):
                    train_set.set_epoch(epoch)
                order = epoch_order(n_items, seed=cfg.seed, epoch=epoch)[pos:]
                n_batches = len(order) // cfg.batch_size
                if n_batches == 0:
                    epoch, pos = epoch + 1, 0
                    continue
                loader = torch.utils.data.DataLoader(
                    train_set, batch_size=cfg.batch_size, sampler=order, drop_last=True,
                    num_workers=cfg.num_workers, collate_fn=_collate,
                )
                for batch in loader:
                    loss = step_loss(batch["audio"], batch["onset"], batch["frame"])
                    opt.zero_grad(set_to_none=True)
                    loss.total.backward()
                    if cfg.grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    opt.step()
                    sched.step()
                    step += 1
                    if average is not None:
                        ema_update(average, model, ema_decay_at(step, cfg.ema_decay))
                    pos += cfg.batch_size
                    last_loss = float(loss.total.detach())
                    window.append(last_loss)
                    bar.update(1)
                    bar.set_postfix(loss=f"{last_loss:.4f}")
                    if step % cfg.log_every_steps == 0 or step == stop_at:
                        now = time.monotonic()
                        log({
                            "kind": "train", "step": step, "epoch": epoch, "lr": sched.get_last_lr()[0],
                            "loss": sum(window) / len(window), "frame_loss": float(loss.frame.detach()),
                            "onset_loss": float(loss.onset.detach()),
                            **({} if loss.distill is None else {"distill_loss": float(loss.distill.detach())}),
                            "seconds_per_step": (now - t_step) / len(window),
                            "elapsed_s": round(now - t_start, 1),
                        })
                        window, t_step = [], now
                    if val_set is not None and (step % cfg.val_every_steps == 0 or step == stop_at):
                        checked = model if average is None else averaged_model()
                        last_val = {"kind": "val", "step": step, **_validate(checked, val_set, cfg)}
                        enter_training()
                        log(last_val)
                        bar.write(
                            f"step {step}: val loss {last_val.get('val_loss', float('nan')):.4f} "
                            f"note F1 {last_val.get('note_f1', 0):.3f} frame F1 {last_val.get('frame_f1', 0):.3f}"
                        )
                    elapsed_min = (time.monotonic() - t_start) / 60
                    if max_minutes is not None and elapsed_min >= max_minutes:
                        stopped_by = "time_budget"
                    if flag.reason is not None:
                        stopped_by = "signal"
                    if stopped_by != "max_steps" or step >= stop_at:
                        break
                    if (step % cfg.checkpoint_every_steps == 0
                            or time.monotonic() - last_ckpt >= 60 * cfg.checkpoint_every_minutes):
                        checkpoint(complete=False)
                if stopped_by != "max_steps" or step >= stop_at:
                    break
                epoch, pos = epoch + 1, 0
    except RuntimeError as exc:
        # A signal sent to the whole process group also kills the DataLoader worker; the state of the
        # last completed step is still consistent, so checkpoint it and stop cleanly.
        if flag.reason is None:
            raise
        logger.warning("data loader stopped by the signal (%s)", exc)
        stopped_by = "signal"
    finally:
        bar.close()
        checkpoint(complete=step >= cfg.max_steps)
        log_f.close()
    logger.info("stopped at step %d (%s); run folder %s", step, stopped_by, out)
    return TrainResult(step, step >= cfg.max_steps, stopped_by, last_loss, last_val, out)


def load_teachers(cfg: TrainConfig) -> tuple:
    """The config's teacher models (:attr:`TrainConfig.teachers`), frozen, in eval mode.

    Raises
    ------
    MissingResourceError
        A teacher's files are missing.
    """
    from septimbre.model.io import load_model

    teachers = []
    for stem in cfg.teachers:
        try:
            teacher, _ = load_model(stem)  # in eval mode
        except MissingResourceError as exc:
            raise MissingResourceError(f"teacher model: {exc} (paths are relative to the working directory)") from exc
        teachers.append(teacher.requires_grad_(False))
        logger.info("distilling from %s (weight %g)", stem, cfg.distill_weight)
    return tuple(teachers)


def _load_initial_weights(model, stem: str | Path) -> None:
    """Copy the weights of the saved model at ``stem`` into ``model``.

    The architectures must match, except that ``model`` may have more time-context blocks
    (``time_blocks``), which start quiet (:func:`~septimbre.basicamt.network.quiet_residual_branch`),
    wider channels (:data:`~septimbre.basicamt.network.GROWABLE_WIDTHS`), whose new channels
    start ignored (:func:`~septimbre.basicamt.network.widen_from`), and, in the ``"pitch"`` layout,
    more harmonic-stacking ratios appended after the saved ones (new input channels of the early
    conv, likewise ignored at first), and an onset branch with its own view of the spectrum
    (``onset_spectral_channels``) where the saved one had none or fewer channels (also ignored at
    first): training begins from the saved model's behaviour.
    """
    import dataclasses

    from septimbre.basicamt.network import GROWABLE_WIDTHS, quiet_residual_branch, widen_from
    from septimbre.model.io import load_model

    source, _ = load_model(stem)
    src_dil, dst_dil = source.config.block_time_dilations(), model.config.block_time_dilations()
    grown = source.config.time_blocks < model.config.time_blocks
    plain = dict(time_blocks=0, time_dilation=1, time_dilations=(), harmonics=(1.0,),  # compared below
                 **{k: 0 for k in GROWABLE_WIDTHS})
    if not source.config.onset_spectral_channels:  # a new spectral view of the onset branch may take any kernel
        plain["onset_spectral_kernel"] = (3, 1)
    same = dataclasses.replace(source.config, **plain) == dataclasses.replace(model.config, **plain)
    narrower = any(getattr(model.config, k) < getattr(source.config, k) for k in GROWABLE_WIDTHS)
    src_h, dst_h = tuple(source.config.harmonics), tuple(model.config.harmonics)
    harmonics_ok = dst_h == src_h or (dst_h[:len(src_h)] == src_h and model.config.layout == "pitch")
    if (not same or narrower or not harmonics_ok or len(src_dil) > len(dst_dil)
            or dst_dil[:len(src_dil)] != src_dil):
        raise ParameterError(f"--init {stem}: its architecture differs from the config's model "
                             f"({source.config} vs {model.config})")
    missing = widen_from(model, source)
    new = range(source.config.time_blocks, model.config.time_blocks)
    allowed = tuple(f"time_context.{i}." for i in new)
    if not source.config.onset_spectral_channels:
        allowed += ("onset_spectral.",)  # grown from none: a fresh conv, ignored at first (widen_from)
    if any(not k.startswith(allowed) for k in missing):
        raise ParameterError(f"--init {stem}: weights do not fit (missing {missing})")
    for i in new:
        quiet_residual_branch(model.time_context[i])
    widened = [f"{k} {getattr(source.config, k)}->{getattr(model.config, k)}" for k in GROWABLE_WIDTHS
               if getattr(model.config, k) != getattr(source.config, k)]
    widened += [f"harmonics +{list(dst_h[len(src_h):])}"] if dst_h != src_h else []
    logger.info("initialised from %s%s%s", stem, f" (+{len(new)} quiet time blocks)" if grown else "",
                f" (widened: {', '.join(widened)})" if widened else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m septimbre.basicamt.train",
        description="Train BasicAMT from rendered splits (python -m septimbre.data build ...).",
    )
    parser.add_argument("--config", required=True, help="training config: a JSON file, or a bare name in basicamt/configs (train)")
    parser.add_argument("--data", required=True, nargs="+", metavar="DATA",
                        help="training split folder (manifest.jsonl + examples/); several folders are "
                        "served as one split")
    parser.add_argument("--val", help="validation split folder (quick metrics); omit to skip validation")
    parser.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--init", metavar="STEM", help="start from a saved model's weights (STEM.pt + STEM.json, "
                        "e.g. septimbre/weights/basicamt): fine-tuning; ignored with --resume")
    parser.add_argument("--max-minutes", type=float, help="wall-clock budget of this call (checkpoint, then exit)")
    parser.add_argument("--max-steps", type=int, help="stop this call at this step (schedule unchanged)")
    parser.add_argument("--threads", type=int, help="override the config's torch threads")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto (default): the config's bf16 where this CPU has native bf16, else fp32; "
                        "config: as the config says; bf16 / fp32: forced")
    parser.add_argument("--compile", action="store_true",
                        help="run the training step through torch.compile (needs a C++ compiler; the first "
                        "step compiles for about a minute, later ones are faster: python -m "
                        "septimbre.basicamt.bench --compile measures it on this CPU)")
    parser.add_argument("--allocator", choices=ALLOCATORS, default="auto",
                        help="auto (default): re-run under tcmalloc when it is installed (apt-get install "
                        "libtcmalloc-minimal4; about 1.5x faster steps on 2 cores, same numbers); "
                        "tcmalloc: required; system: glibc malloc")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if argv is None:  # the command line (not a call from Python): may re-run itself under tcmalloc
            rerun_under(args.allocator, "septimbre.basicamt.train")
        require("torch", "train")
        cfg = TrainConfig.load(args.config)
        if args.threads:
            cfg = dataclasses.replace(cfg, threads=args.threads)
        native = native_bf16()
        requested_bf16 = cfg.bf16
        cfg = resolve_precision(cfg, args.precision, native=native)
        if args.precision == "auto" and cfg.bf16 != requested_bf16:  # not a choice the user forced
            logger.warning("this CPU has no native bf16 (emulated bf16 is several times slower): training "
                           "in fp32 instead of the config's bf16 autocast (--precision config keeps it)")
        from septimbre.data.dataset import RenderedDataset

        train_set = RenderedDataset(args.data, clip_seconds=cfg.clip_seconds, seed=cfg.seed,
                                    remix_prob=cfg.remix_prob, remix_gain_db=cfg.remix_gain_db)
        val_set = (
            RenderedDataset(args.val, clip_seconds=cfg.val_clip_seconds, seed=cfg.seed + 7) if args.val else None
        )
        provenance = {"data": str(args.data[0]) if len(args.data) == 1 else [str(d) for d in args.data],
                      "val": str(args.val) if args.val else None,
                      "config_file": str(args.config),
                      "precision": {"requested": args.precision, "config_bf16": requested_bf16,
                                    "bf16": cfg.bf16, "native_bf16": native},
                      "compiled": bool(args.compile)}
        result = train(
            cfg, train_set, val_set, args.out, resume=args.resume, init_from=args.init, max_minutes=args.max_minutes,
            max_steps=args.max_steps, progress=not args.no_progress, provenance=provenance, compiled=args.compile,
        )
    except SeptimbreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    state = "complete" if result.complete else f"stopped ({result.stopped_by}); continue with --resume"
    print(f"step {result.step}: {state}. model: {result.out_dir / MODEL_STEM}.{{pt,json}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
