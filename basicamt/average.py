"""Weight averaging ("model soup") of BasicAMT fine-tunes that share an architecture.

Fine-tunes started from the same weights stay in one basin of the loss, so the mean of their
weights is itself a working model, often better than either (Wortsman et al. 2022, "Model soups").
Every floating-point tensor of the state dict is averaged, the BatchNorm running statistics
included; integer buffers (``num_batches_tracked``) are taken from the first model.

Command (re-tune the thresholds of the result afterwards, ``python -m septimbre.basicamt.tune``)::

    python -m septimbre.basicamt.average --models runs/A/basicamt runs/B/basicamt --out runs/AB/basicamt
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from septimbre.utils.errors import ParameterError, SeptimbreError, require

logger = logging.getLogger(__name__)


def average_models(stems: Sequence[str | Path], out: str | Path,
                   weights: Sequence[float] | None = None) -> Path:
    """Average the saved models at ``stems`` (``STEM.pt`` + ``STEM.json``) into ``out``.

    Parameters
    ----------
    stems : sequence of str or Path
        Two or more saved models with the same class and architecture.
    out : str or Path
        Output stem; ``out.pt`` and ``out.json`` are written. The JSON is the first model's
        (thresholds included) plus ``averaged_from`` (the stems and weights).
    weights : sequence of float or None
        Mixing weights (>= 0, normalised to sum 1); None: equal.

    Returns
    -------
    Path
        ``out.pt``.
    """
    torch = require("torch", "train")
    from septimbre.model.io import load_model, save_model

    if len(stems) < 2:
        raise ParameterError(f"averaging needs at least two models, got {len(stems)}")
    w = [1.0] * len(stems) if weights is None else [float(x) for x in weights]
    if len(w) != len(stems) or any(x < 0 for x in w) or sum(w) <= 0:
        raise ParameterError(f"weights must be {len(stems)} non-negative numbers with a positive sum, got {weights}")
    w = [x / sum(w) for x in w]
    loaded = [load_model(s) for s in stems]
    first, desc = loaded[0]
    for stem, (model, _) in zip(stems[1:], loaded[1:]):
        if type(model) is not type(first) or model.config != first.config:
            raise ParameterError(f"{stem} has another architecture than {stems[0]}; only fine-tunes of "
                                 "one architecture can be averaged")
    states = [m.state_dict() for m, _ in loaded]
    mean = {}
    for key, value in states[0].items():
        if torch.is_floating_point(value):
            mean[key] = sum(wi * s[key].double() for wi, s in zip(w, states)).to(value.dtype)
        else:
            mean[key] = value
    first.load_state_dict(mean)
    # save_model rewrites format, class, architecture and n_parameters from the model itself
    config = {**desc, "averaged_from": [{"model": str(s), "weight": wi} for s, wi in zip(stems, w)]}
    pt, _ = save_model(first, config, out)
    logger.info("averaged %d models into %s", len(stems), pt)
    return pt


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m septimbre.basicamt.average",
                                 description="Average the weights of BasicAMT fine-tunes of one architecture.")
    ap.add_argument("--models", nargs="+", required=True, help="model stems (STEM.pt + STEM.json)")
    ap.add_argument("--out", required=True, help="output stem, e.g. runs/soup/basicamt")
    ap.add_argument("--weights", nargs="+", type=float, default=None, help="mixing weights (default equal)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        pt = average_models(args.models, args.out, args.weights)
    except SeptimbreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {pt} and {Path(pt).with_suffix('.json')}; re-tune its thresholds: "
          f"python -m septimbre.basicamt.tune --model {Path(pt).with_suffix('')} --val VAL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
