"""Piano-roll picture of an example: one colour per instrument, onsets marked (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from septimbre.data.programs import GM_PROGRAMS
from septimbre.data.targets import ONSET
from septimbre.utils.constants import FRAME_RATE, MIDI_MIN
from septimbre.utils.errors import require


def plot_rolls(
    rolls: np.ndarray, programs, path: str | Path, *, mix: np.ndarray | None = None, title: str = ""
) -> Path:
    """Save a PNG of per-instrument rolls (n_inst, N_PITCHES, frames); optional mix waveform on top."""
    mpl = require("matplotlib", "plot")
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n_inst, n_p, frames = rolls.shape
    colors = plt.get_cmap("tab10").colors
    img = np.ones((n_p, frames, 3))
    for k in range(n_inst):
        c = np.array(colors[k % 10])
        on = rolls[k] > 0
        img[on] = 0.35 * img[on] + 0.65 * c  # overlaps blend
        img[rolls[k] == ONSET] = c * 0.5
    rows = 2 if mix is not None else 1
    fig, axes = plt.subplots(
        rows,
        1,
        figsize=(min(24, 4 + frames / 120), 7),
        sharex=True,
        gridspec_kw={"height_ratios": [1, 4] if rows == 2 else [1]},
        squeeze=False,
    )
    t_end = frames / FRAME_RATE
    if mix is not None:
        t = np.arange(mix.shape[0]) / (mix.shape[0] / t_end if frames else 1)
        axes[0, 0].plot(t, mix, lw=0.3, color="k")
        axes[0, 0].set_ylabel("mix")
    ax = axes[-1, 0]
    ax.imshow(
        img,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        extent=(0, t_end, MIDI_MIN - 0.5, MIDI_MIN + n_p - 0.5),
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    names = [GM_PROGRAMS[int(p)].name if int(p) in GM_PROGRAMS else str(p) for p in programs]
    ax.legend(
        handles=[Patch(color=colors[k % 10], label=f"{k}: {names[k]}") for k in range(n_inst)],
        loc="upper right",
        fontsize=8,
    )
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
