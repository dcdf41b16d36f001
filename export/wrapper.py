"""The torch module that is exported: 44.1 kHz front end + a transcription model + normalisation.

Graph contract (the noteDigger convention, see ``docs/export.md``)
-------------------------------------------------------------------
input ``audio``  float32 [1, 1, T], mono at EXPORT_SAMPLE_RATE (44.1 kHz), T >= 1 dynamic.
outputs ``onset``, ``frame`` float32 [1, N_PITCHES, ceil(T / EXPORT_HOP_LENGTH)]: row p is MIDI
MIDI_MIN + p, frame i is centred at input sample EXPORT_HOP_LENGTH * i; each is divided by its own
global maximum (guarded by :data:`NORM_FLOOR` so silence stays finite).
outputs ``onset_raw``, ``frame_raw``: the same probabilities, undivided (what the Python runtime
thresholds).

The wrapped model must take ``(batch, samples)`` float32 at SAMPLE_RATE and return
``(onset, frame)`` probabilities of shape ``(batch, N_PITCHES, ceil(samples / HOP_LENGTH))``.
"""

from __future__ import annotations

import torch
from septimbre.export.contract import NORM_FLOOR
from septimbre.export.halfband import halfband_taps
from septimbre.model.decimate import decimate, decimator_bank
from torch import nn


class ExportWrapper(nn.Module):
    """44.1 kHz [1, 1, T] in -> (onset, frame, onset_raw, frame_raw), each [1, 84, ceil(T/512)].

    Parameters
    ----------
    model : nn.Module
        Transcription model, ``(batch, samples)`` at SAMPLE_RATE -> ``(onset, frame)``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("decimation_bank", decimator_bank(halfband_taps()), persistent=False)

    def decimate(self, audio: torch.Tensor) -> torch.Tensor:
        """[batch, 1, T] at 44.1 kHz -> [batch, 1, ceil(T / 2)] at 22.05 kHz (zero-phase FIR).

        The same numbers as a stride-2 conv1d with :func:`halfband_taps` centred (padding of half
        the filter), computed as a block-strided conv (:mod:`septimbre.model.decimate`)."""
        return decimate(audio, self.decimation_bank)

    @staticmethod
    def normalise(x: torch.Tensor) -> torch.Tensor:
        """Divide by the global maximum, floored at NORM_FLOOR."""
        peak = torch.clamp(torch.max(x), min=NORM_FLOOR)
        return x / peak

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """audio [1, 1, T] float32 at EXPORT_SAMPLE_RATE -> four [1, 84, ceil(T/512)] maps."""
        x = self.decimate(audio).squeeze(1)
        onset_raw, frame_raw = self.model(x)
        return self.normalise(onset_raw), self.normalise(frame_raw), onset_raw, frame_raw
