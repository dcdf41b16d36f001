"""Exponential moving average of a model's weights, kept beside training.

The averaged weights are a one-run cousin of the weight soups of :mod:`septimbre.basicamt.average`:
late in training the optimizer's steps scatter the weights around a minimum, and their average sits
nearer its centre. Every floating-point tensor of the state dict is averaged, BatchNorm running
statistics included (they are themselves averages of the batches the weights saw); integer buffers
(``num_batches_tracked``) are copied. Averaging never touches the trained model or any random
stream, so a run with an average follows the same trajectory as one without.
"""

from __future__ import annotations

from septimbre.utils.errors import ParameterError

#: The decay ramps up as ``(1 + step) / (EMA_RAMP_STEPS + step)`` until it reaches its setting, so
#: the first steps' (random) weights are forgotten quickly.
EMA_RAMP_STEPS = 10


def ema_decay_at(step: int, decay: float) -> float:
    """The averaging decay applied after optimizer step ``step`` (1-based), in [0, ``decay``]."""
    if not 0.0 < decay < 1.0:
        raise ParameterError(f"EMA decay must be in (0, 1), got {decay}")
    return min(decay, (1.0 + step) / (EMA_RAMP_STEPS + step))


def ema_start(model) -> dict:
    """A detached float32 copy of ``model``'s state dict: the average before any update."""
    return {k: v.detach().clone().float() if v.is_floating_point() else v.detach().clone()
            for k, v in model.state_dict().items()}


def ema_update(average: dict, model, decay: float) -> None:
    """Move ``average`` (from :func:`ema_start`) towards ``model``'s weights, in place:
    ``average = decay * average + (1 - decay) * weights`` for floating-point entries, a copy for
    the others. Raises :class:`ParameterError` if the state dicts' keys differ."""
    import torch

    state = model.state_dict()
    if state.keys() != average.keys():
        raise ParameterError("EMA: the model's state dict keys differ from the average's")
    with torch.no_grad():
        for k, v in state.items():
            a = average[k]
            if a.is_floating_point():
                a.mul_(decay).add_(v.detach().float(), alpha=1.0 - decay)
            else:
                a.copy_(v)
