"""Choose BasicAMT's decoding thresholds on a synthetic validation split and store them with the model.

Usage::

    python -m septimbre.basicamt.tune --model runs/NAME/basicamt --val DATA/val [--max-clips 64] [--no-progress]

The model's posteriorgrams of the validation clips are computed once; then, for each decoder
variant (``infer_onsets`` on/off x ``recover_onsetless`` on/off, the decoder's two optional stages),
a coarse-to-fine search over (onset_threshold, frame_threshold) and min_note_ms maximises the
note F1 (mir_eval matching, onset +-50 ms, offsets ignored; frame F1 breaks ties) of the runtime
decoder :func:`septimbre.utils.decoding.decode_notes`: pooled over all clips (``--objective
pooled``, the default) or the mean of the clips' own F1 (``--objective mean``, the statistic the
evaluation reports per piece). The winners are written into
``<model>.json`` (``onset_threshold``, ``frame_threshold``, ``min_note_ms``, ``infer_onsets``,
``recover_onsetless``, ``thresholds_tuned: true`` and a ``tuning`` record with the scores), where
the runtime reads them. Real recordings (the TRIOS folder) are refused: thresholds are
never chosen on test audio.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import math
import sys
from pathlib import Path

from septimbre.utils.errors import ParameterError, SeptimbreError, require

logger = logging.getLogger(__name__)

#: Coarse grid (stage 1) and note-length grid (stage 2).
ONSET_GRID: tuple[float, ...] = (0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
FRAME_GRID: tuple[float, ...] = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
MIN_NOTE_MS_GRID: tuple[float, ...] = (20.0, 35.0, 50.0, 70.0, 90.0, 120.0)
#: Stage 3: local refinement steps around the best (onset, frame); the onset step shrinks to half
#: the onset threshold below 0.1, so low thresholds are refined on their own scale.
REFINE_STEPS: tuple[float, float] = (0.05, 0.025)
START_MIN_NOTE_MS: float = 50.0
#: Decoder variants searched: (infer_onsets, recover_onsetless); the first is the decoder's default.
DECODER_VARIANTS: tuple[tuple[bool, bool], ...] = ((True, True), (False, True), (True, False), (False, False))
#: Folder names that mark real recordings (never tuned on).
FORBIDDEN_PARTS: tuple[str, ...] = ("trios",)
#: What the search maximises: pooled note F1 over all clips, or the mean of per-clip note F1.
OBJECTIVES: tuple[str, ...] = ("pooled", "mean")


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


@dataclasses.dataclass(frozen=True)
class Trial:
    """Scores of one threshold setting."""

    onset_threshold: float
    frame_threshold: float
    min_note_ms: float
    note_f1: float
    note_precision: float
    note_recall: float
    frame_f1: float
    infer_onsets: bool = True
    recover_onsetless: bool = True
    note_f1_mean: float = float("nan")

    def key(self, objective: str = "pooled") -> tuple[float, float]:
        """Sort key under ``objective`` (:data:`OBJECTIVES`): the note F1 it names, then frame F1."""
        return (self.note_f1_mean if objective == "mean" else self.note_f1, self.frame_f1)

    def decoder_options(self) -> dict[str, bool]:
        """The decoder stages this trial used, as :func:`~septimbre.utils.decoding.decode_notes` kwargs."""
        return {"infer_onsets": self.infer_onsets, "recover_onsetless": self.recover_onsetless}


def search(clips, *, progress: bool = True,
           variants: tuple[tuple[bool, bool], ...] = DECODER_VARIANTS,
           objective: str = "pooled") -> tuple[Trial, list[Trial]]:
    """Coarse-to-fine threshold search on collected validation clips, per decoder variant
    ``(infer_onsets, recover_onsetless)``, maximising ``objective`` (:data:`OBJECTIVES`); returns
    (best over all variants, all trials best first). Ties keep the earlier variant (the decoder's
    defaults come first)."""
    _check_objective(objective)
    from septimbre.basicamt.validation import score
    from tqdm import tqdm

    seen: dict[tuple[float, float, float, bool, bool], Trial] = {}

    def run(settings) -> None:
        todo = [s for s in settings if s not in seen]
        for on, fr, ms, inf, rec in tqdm(todo, desc="thresholds", disable=not progress, leave=False):
            s = score(clips, onset_threshold=on, frame_threshold=fr, min_note_ms=ms,
                      infer_onsets=inf, recover_onsetless=rec)
            seen[(on, fr, ms, inf, rec)] = Trial(on, fr, ms, s.note_f1, s.note_precision, s.note_recall,
                                                 s.frame_f1, inf, rec, s.note_f1_mean)

    def key(t: Trial) -> tuple[float, float]:
        return t.key(objective)

    def best(inf: bool, rec: bool) -> Trial:
        return max((t for t in seen.values() if (t.infer_onsets, t.recover_onsetless) == (inf, rec)),
                   key=key)

    winners = []
    for inf, rec in variants:
        run([(on, fr, START_MIN_NOTE_MS, inf, rec) for on, fr in itertools.product(ONSET_GRID, FRAME_GRID)])
        b = best(inf, rec)
        run([(b.onset_threshold, b.frame_threshold, ms, inf, rec) for ms in MIN_NOTE_MS_GRID])
        b = best(inf, rec)
        d_on, d_fr = REFINE_STEPS
        local = []
        for i, j in itertools.product((-1, 0, 1), (-1, 0, 1)):
            on = round(b.onset_threshold + i * min(d_on, b.onset_threshold / 2), 4)
            fr = round(b.frame_threshold + j * d_fr, 4)
            if 0.0 < on < 1.0 and 0.0 < fr < 1.0:
                local.append((on, fr, b.min_note_ms, inf, rec))
        run(local)
        winners.append(best(inf, rec))
    top = max(winners, key=key)  # max keeps the first of equals: ties keep the earlier variant
    return top, sorted(seen.values(), key=key, reverse=True)


def tune(
    model_stem: str | Path,
    val_dir: str | Path,
    *,
    max_clips: int | None = 64,
    clip_seconds: float = 10.0,
    seed: int = 0,
    progress: bool = True,
    dataset=None,
    objective: str = "pooled",
) -> Trial:
    """Tune and store the thresholds of the model at ``model_stem``; returns the best trial.

    ``objective`` is what the search maximises (:data:`OBJECTIVES`: pooled note F1 over the clips,
    or the mean of per-clip note F1). ``dataset`` replaces the rendered split at ``val_dir`` (tests).
    """
    _check_objective(objective)
    from septimbre.basicamt.validation import collect
    from septimbre.model.io import load_model, update_description

    val_path = Path(val_dir).resolve()
    if any(part.lower() in FORBIDDEN_PARTS for part in val_path.parts):
        raise ParameterError(f"refusing to tune on {val_path}: thresholds come from synthetic validation only")
    model, _ = load_model(model_stem)
    if dataset is None:
        from septimbre.data.dataset import RenderedDataset

        dataset = RenderedDataset(val_path, clip_seconds=clip_seconds, seed=seed)
    clips, losses = collect(model, dataset, max_clips=max_clips)
    if not clips:
        raise ParameterError(f"no validation clips in {val_path}")
    best, trials = search(clips, progress=progress, objective=objective)
    if objective == "mean" and math.isnan(best.note_f1_mean):  # no clip has reference notes
        raise ParameterError(f"no validation clip in {val_path} has reference notes; cannot tune on their mean")
    update_description(
        model_stem,
        onset_threshold=best.onset_threshold,
        frame_threshold=best.frame_threshold,
        min_note_ms=best.min_note_ms,
        **best.decoder_options(),
        thresholds_tuned=True,
        tuning={
            "command": "python -m septimbre.basicamt.tune",
            "val": str(val_dir),
            "n_clips": len(clips),
            "clip_seconds": clip_seconds,
            "objective": ("pooled note F1" if objective == "pooled" else "mean of per-clip note F1")
            + " (mir_eval, onset +-50 ms, offsets ignored); frame F1 breaks ties",
            "best": dataclasses.asdict(best),
            "val_losses": losses,
            "top": [dataclasses.asdict(t) for t in trials[:5]],
            "best_per_decoder_variant": [dataclasses.asdict(next(t for t in trials if (
                t.infer_onsets, t.recover_onsetless) == v)) for v in DECODER_VARIANTS],
        },
    )
    logger.info("thresholds: %s", best)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m septimbre.basicamt.tune",
        description="Choose onset / frame thresholds and minimum note length on a synthetic validation split "
        "and write them into the model's JSON.",
    )
    parser.add_argument("--model", required=True, help="model stem (STEM.pt + STEM.json), e.g. runs/NAME/basicamt")
    parser.add_argument("--val", required=True, help="synthetic validation split folder")
    parser.add_argument("--max-clips", type=int, default=64, help="validation clips used (default 64)")
    parser.add_argument("--clip-seconds", type=float, default=10.0, help="clip length (default 10 s)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="pooled",
                        help="maximise the pooled note F1 over all clips (default) or the mean of per-clip note F1")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        torch = require("torch", "train")
        torch.set_num_threads(args.threads)
        best = tune(args.model, args.val, max_clips=args.max_clips, clip_seconds=args.clip_seconds,
                    objective=args.objective, progress=not args.no_progress)
    except SeptimbreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"onset_threshold={best.onset_threshold} frame_threshold={best.frame_threshold} "
        f"min_note_ms={best.min_note_ms} infer_onsets={best.infer_onsets} "
        f"recover_onsetless={best.recover_onsetless}: note F1 {best.note_f1:.3f} (P {best.note_precision:.3f}, "
        f"R {best.note_recall:.3f}; mean per clip {best.note_f1_mean:.3f}), frame F1 {best.frame_f1:.3f} "
        f"-> {Path(args.model)}.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
