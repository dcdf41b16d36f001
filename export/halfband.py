"""Fixed half-band low-pass FIR used by the exported graph to go from 44.1 kHz to 22.05 kHz.

Torch-free (numpy only) so the runtime can reproduce the exact front end if it ever needs to.

Conventions
-----------
The filter is a Kaiser-windowed sinc with its cut-off at a quarter of the input rate
(``EXPORT_SAMPLE_RATE / 4`` = the output Nyquist), odd length, symmetric, unit DC gain. It is
applied *centred* (zero phase): output sample ``j`` of the stride-2 decimation is the filtered
input around sample ``2 * j``, so a frame centred at model sample ``HOP_LENGTH * i`` is centred at
input sample ``EXPORT_HOP_LENGTH * i``. A signal of ``T`` input samples gives ``ceil(T / 2)``
output samples (symmetric zero padding of ``(n_taps - 1) // 2`` on both sides).

With the defaults (55 taps, 80 dB Kaiser design) the response is flat within 0.01 dB up to 9 kHz
(the top CQT bin is near 8.3 kHz), -6 dB at 11.025 kHz, and below -76 dB from 13.05 kHz up —
everything that can alias into the band below 9 kHz after decimation.
"""

from __future__ import annotations

import numpy as np
from septimbre.utils.errors import ParameterError

#: Number of taps of the decimation filter (odd, of the form 4k + 3 so the end taps are non-zero).
HALFBAND_TAPS: int = 55
#: Stop-band attenuation the Kaiser window is designed for, dB.
HALFBAND_ATTENUATION_DB: float = 80.0


def halfband_taps(
    n_taps: int = HALFBAND_TAPS, *, attenuation_db: float = HALFBAND_ATTENUATION_DB
) -> np.ndarray:
    """Taps of the zero-phase half-band low-pass.

    Parameters
    ----------
    n_taps : int
        Odd filter length.
    attenuation_db : float
        Stop-band attenuation of the Kaiser design, dB (> 21).

    Returns
    -------
    np.ndarray [shape=(n_taps,), dtype float64]
        Symmetric taps summing to 1; every other tap away from the centre is exactly 0.
    """
    if n_taps < 3 or n_taps % 2 == 0:
        raise ParameterError(f"n_taps must be odd and >= 3, got {n_taps}")
    if attenuation_db <= 21.0:
        raise ParameterError(f"attenuation_db must exceed 21 dB, got {attenuation_db}")
    a = attenuation_db
    beta = 0.1102 * (a - 8.7) if a > 50.0 else 0.5842 * (a - 21.0) ** 0.4 + 0.07886 * (a - 21.0)
    offsets = np.arange(n_taps) - (n_taps - 1) // 2
    taps = 0.5 * np.sinc(offsets / 2.0) * np.kaiser(n_taps, beta)
    taps[(offsets % 2 == 0) & (offsets != 0)] = 0.0  # exact half-band zeros
    return taps / taps.sum()
