"""Masking curve: how many notes of one TRIOS part are found as another part is turned down.

``python -m septimbre.evaluate masking --piece lussier --part bassoon --masker piano [--model X.onnx]``
re-sums a TRIOS piece from its part recordings (the published mix is their sum) with one part, the
*masker*, left out and then at each gain of ``--gains`` (dB, 0 = as recorded), transcribes every
version with the model's shipped thresholds and prints how many of the *part*'s reference notes
are found (onset within 50 ms, pitch equal, offsets ignored; the merged transcription is matched
against that part's notes alone). It tells notes lost to the masker's loudness, which come back as
it is turned down, from notes lost to its mere presence (a shared pitch already sounding, an onset
on top of the part's), which stay lost at any audible gain. A diagnostic for choosing training
material; thresholds are never chosen here.

``python -m septimbre.evaluate masking ... --render-programs PART_PROGRAM,MASKER_PROGRAM`` asks
instead *whose sound* makes the loss: each of the two parts is also rendered from its MIDI file
with the training soundfonts (GM programs given; needs FluidSynth, the ``data`` extra), scaled to the
recording's median active level, and the part's notes are counted for the recorded and rendered
versions of both, alone and together (the other parts left out). The programs default to each TRIOS
instrument's nearest GM program (:data:`septimbre.data.trios.INSTRUMENT_PROGRAMS`) with ``--swap``.

``... --swap --transplant`` tells *what* in the sound makes the loss: the rendered part is given the
recording's spectro-temporal envelope (its power in bands of 1/3 or 1/12 octave, frame by frame) and
the recording the render's, keeping each one's own fine structure (exact partial frequencies,
vibrato, noise within a band), and the part's notes are counted alone and beside the recorded
masker. If the render turns as fragile as the recording, level, timbre and dynamics explain the
loss (what EQ, gain and envelope augmentations can reach); if it does not, the fine structure does.

``... --audibility`` asks whether the notes lost beside the masker are masked at all: for each note
of the part, the level of each of its first partials over the masker's in the same short-time
spectrum bins (recordings, 4,096-sample frames, the note's first 0.3 s), summarised for the notes
found in the two-part mix, those lost there but found alone, and those lost alone too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import midi_notes
from septimbre.evaluate.table import align_columns
from septimbre.utils.constants import HOP_LENGTH, SAMPLE_RATE, midi_to_hz
from septimbre.utils.errors import MissingResourceError, ParameterError

#: Masker gains of the default curve, dB relative to the recording.
DEFAULT_GAINS_DB: tuple[float, ...] = (0.0, -6.0, -12.0, -18.0, -24.0, -36.0)
#: Soundfonts of the swap table: the three the training splits use (the fourth is held out).
SWAP_SOUNDFONTS: tuple[str, ...] = ("TimGM6mb", "sf_GMbank", "MuseScore_General")
#: Band widths (octaves) of the envelope transplant's rows.
TRANSPLANT_BANDS_OCTAVES: tuple[float, ...] = (1.0 / 3.0, 1.0 / 12.0)
#: FFT size of the envelope transplant, samples at SAMPLE_RATE (93 ms; the hop is HOP_LENGTH).
TRANSPLANT_N_FFT = 2048
#: Largest gain the transplant applies to one time-frequency cell, dB.
TRANSPLANT_MAX_GAIN_DB = 60.0
#: Partials, FFT size (samples) and note span (seconds from onset) of the audibility check.
AUDIBILITY_PARTIALS = 8
AUDIBILITY_N_FFT = 4096
AUDIBILITY_SPAN_S = (0.02, 0.3)
#: Blocks of 2048 samples whose RMS is under this fraction of a track's loudest block are not "active".
ACTIVE_FRACTION = 0.03


@dataclass(frozen=True)
class MaskingPoint:
    """The part's notes found with the masker at ``gain_db`` (``None``: the masker left out)."""

    gain_db: float | None
    found: int
    total: int


def piece_tracks(folder: Path) -> dict[str, np.ndarray]:
    """Every part recording of a TRIOS piece folder (``<name>.flac`` except ``mix.flac``), mono at
    SAMPLE_RATE, all cut to the shortest one's length: ``{name: (samples,) float32}``."""
    from septimbre.utils.audio import load_audio

    paths = sorted(p for p in Path(folder).glob("*.flac") if p.stem != "mix")
    if not paths:
        raise MissingResourceError(f"no part recording (<instrument>.flac) in {folder}")
    tracks = {p.stem: load_audio(p, sr=SAMPLE_RATE) for p in paths}
    n = min(len(t) for t in tracks.values())
    return {k: np.asarray(t[:n], np.float32) for k, t in tracks.items()}


def masking_curve(tracks: dict[str, np.ndarray], reference: np.ndarray, masker: str, transcribe, *,
                  gains_db: Sequence[float] = DEFAULT_GAINS_DB) -> list[MaskingPoint]:
    """The part's notes found without the masker, then with it at each gain.

    Parameters
    ----------
    tracks : dict
        Part recordings ``{name: (samples,) float32}`` at SAMPLE_RATE, equal lengths (:func:`piece_tracks`).
    reference : np.ndarray [shape=(n, 3)]
        The part's reference notes ``(start_s, end_s, MIDI pitch)``.
    masker : str
        Name of the track whose gain changes; the others are summed as recorded.
    transcribe : callable
        ``transcribe(audio (samples,) float32) -> (m, 3) (start_s, end_s, MIDI pitch)`` estimated notes.
    gains_db : sequence of float
        Masker gains, dB relative to the recording.
    """
    if masker not in tracks:
        raise ParameterError(f"no track {masker!r} (has: {', '.join(sorted(tracks))})")
    rest = sum(t for k, t in tracks.items() if k != masker)
    found = _note_counter(reference, transcribe)
    points = []
    for gain in [None, *gains_db]:
        audio = rest if gain is None else rest + tracks[masker] * np.float32(10.0 ** (float(gain) / 20.0))
        points.append(MaskingPoint(gain, found(audio), len(reference)))
    return points


def _transcriber(model: Path | None):
    """``transcribe(audio) -> (m, 3)`` notes with the shipped model or ``model``, shipped thresholds."""
    from septimbre.inference import Transcriber

    tr = Transcriber(model)

    def transcribe(audio: np.ndarray) -> np.ndarray:
        return M.as_note_array(tr.transcribe(audio, SAMPLE_RATE).notes)

    return transcribe


def _checked_piece(root: Path, piece: str, part: str, masker: str, *, references: Sequence[str]) -> Path:
    """The piece's folder, once ``<name>.mid`` exists for every name of ``references`` and the masker
    is another part than the one scored (MissingResourceError / ParameterError otherwise)."""
    folder = Path(root) / piece
    for name in references:
        if not (folder / f"{name}.mid").is_file():
            raise MissingResourceError(f"no reference {name}.mid in {folder}")
    if part == masker:
        raise ParameterError("the masker must be another part than the one scored")
    return folder


def _recorded_pair(folder: Path, part: str, masker: str) -> dict[str, np.ndarray]:
    """:func:`piece_tracks` of ``folder``, once it holds recordings of both ``part`` and ``masker``."""
    tracks = piece_tracks(folder)
    for name in (part, masker):
        if name not in tracks:
            raise MissingResourceError(f"no recording {name}.flac in {folder}")
    return tracks


def trios_masking_curve(root: Path, piece: str, part: str, masker: str, *, model: Path | None = None,
                        gains_db: Sequence[float] = DEFAULT_GAINS_DB) -> list[MaskingPoint]:
    """:func:`masking_curve` of TRIOS piece ``piece`` (a folder under ``root``) with the shipped model
    or ``model`` (an .onnx with its .json beside it), at the model's shipped thresholds."""
    folder = _checked_piece(root, piece, part, masker, references=(part,))
    return masking_curve(piece_tracks(folder), midi_notes(folder / f"{part}.mid"), masker, _transcriber(model),
                         gains_db=gains_db)


@dataclass(frozen=True)
class SwapRow:
    """The part's notes found (of ``total``) with recorded or rendered versions of the two parts.

    ``soundfont`` names the renders (``None``: the recorded-only row, where the rendered fields are
    ``None``). ``part_alone`` and ``with_masker`` use the recorded part; ``rendered_*`` the part
    rendered from its MIDI file; ``*_rendered_masker`` the masker rendered likewise.
    """

    soundfont: str | None
    total: int
    part_alone: int | None
    with_masker: int | None
    with_rendered_masker: int | None = None
    rendered_alone: int | None = None
    rendered_with_masker: int | None = None
    rendered_with_rendered_masker: int | None = None


def _note_counter(reference: np.ndarray, transcribe):
    """``found(audio) -> int``: how many of ``reference``'s notes ``transcribe(audio)`` finds."""

    def found(audio: np.ndarray) -> int:
        return int(M.matched_reference(reference, transcribe(np.asarray(audio, np.float32))).sum())

    return found


def active_level(audio: np.ndarray, *, block: int = 2048) -> float:
    """Median RMS of the 2048-sample blocks louder than ACTIVE_FRACTION of the loudest (0 if silent)."""
    x = np.asarray(audio, np.float64)
    rms = np.sqrt((x[: len(x) // block * block].reshape(-1, block) ** 2).mean(axis=1))
    if not len(rms) or rms.max() <= 0:
        return 0.0
    return float(np.median(rms[rms > rms.max() * ACTIVE_FRACTION]))


def render_like(midi_path: Path, program: int, soundfont: str, recorded: np.ndarray, *,
                tilt_db_per_octave: float = 0.0, tilt_limit_db: float | None = None) -> np.ndarray:
    """The notes of ``midi_path`` rendered with ``program`` of ``soundfont``, as long as ``recorded``
    and scaled to its :func:`active_level` (float32 at SAMPLE_RATE).

    ``tilt_db_per_octave`` (with ``tilt_limit_db``, default the data engine's) darkens or brightens
    the render first with the data engine's EQ tilt (:func:`septimbre.data.room.eq_tilt`), as a
    training split's ``tilt_db_per_octave`` draw would.
    """
    from septimbre.data.render import render_stem
    from septimbre.data.room import TILT_LIMIT_DB, eq_tilt
    from septimbre.data.soundfonts import find_soundfont
    from septimbre.data.trios import read_notes

    y = render_stem(list(read_notes(midi_path)), soundfont=find_soundfont(soundfont), program=int(program), n_samples=len(recorded))
    if tilt_db_per_octave:
        y = eq_tilt(y, db_per_octave=float(tilt_db_per_octave),
                    limit_db=TILT_LIMIT_DB if tilt_limit_db is None else float(tilt_limit_db))
    level = active_level(y)
    if level <= 0:
        raise ParameterError(f"{soundfont} program {program} rendered silence for {midi_path.name}")
    return (y * (active_level(recorded) / level)).astype(np.float32)


def swap_table(part_track: np.ndarray, masker_track: np.ndarray, reference: np.ndarray, transcribe, render, *,
               soundfonts: Sequence[str] = SWAP_SOUNDFONTS) -> list[SwapRow]:
    """The part's notes found with recorded and rendered versions of the part and the masker.

    ``part_track`` / ``masker_track``: the recordings (equal lengths); ``render(which, soundfont)``
    returns the rendered version of ``"part"`` or ``"masker"``; ``transcribe`` as in
    :func:`masking_curve`. The first row is recorded only; then one row per soundfont.
    """

    found = _note_counter(reference, transcribe)
    total = len(reference)
    rows = [SwapRow(None, total, found(part_track), found(part_track + masker_track))]
    for sf in soundfonts:
        rp, rm = render("part", sf), render("masker", sf)
        rows.append(SwapRow(sf, total, None, None, found(part_track + rm), found(rp), found(rp + masker_track),
                            found(rp + rm)))
    return rows


def default_programs(part: str, masker: str) -> tuple[int, int]:
    """The nearest GM programs of two TRIOS instruments (:data:`septimbre.data.trios.INSTRUMENT_PROGRAMS`)."""
    from septimbre.data.trios import INSTRUMENT_PROGRAMS

    missing = [n for n in (part, masker) if n not in INSTRUMENT_PROGRAMS]
    if missing:
        raise ParameterError(f"no GM program known for {', '.join(missing)}: give --render-programs PART,MASKER "
                             f"(known: {', '.join(sorted(INSTRUMENT_PROGRAMS))})")
    return INSTRUMENT_PROGRAMS[part], INSTRUMENT_PROGRAMS[masker]


def trios_pair(root: Path, piece: str, part: str, masker: str, programs: tuple[int, int] | None = None, *,
               model: Path | None = None, part_tilt: tuple[float, float | None] = (0.0, None)):
    """``(part_track, masker_track, reference, transcribe, render)`` of a TRIOS piece, the arguments of
    :func:`swap_table` and :func:`transplant_table` (load it once to run both: each render is made
    once and kept). ``programs`` None: :func:`default_programs`; ``part_tilt``: ``(dB per octave,
    limit dB or None for the data engine's)`` of the EQ tilt given to the rendered part."""
    folder = _checked_piece(root, piece, part, masker, references=(part, masker))
    programs = default_programs(part, masker) if programs is None else programs
    tracks = _recorded_pair(folder, part, masker)
    names = {"part": part, "masker": masker}
    program = {"part": programs[0], "masker": programs[1]}
    renders: dict[tuple[str, str], np.ndarray] = {}

    def render(which: str, soundfont: str) -> np.ndarray:
        if (which, soundfont) not in renders:
            tilt, limit = part_tilt if which == "part" else (0.0, None)
            renders[which, soundfont] = render_like(folder / f"{names[which]}.mid", program[which], soundfont,
                                                    tracks[names[which]], tilt_db_per_octave=tilt, tilt_limit_db=limit)
        return renders[which, soundfont]

    return tracks[part], tracks[masker], midi_notes(folder / f"{part}.mid"), _transcriber(model), render


def trios_swap_table(root: Path, piece: str, part: str, masker: str, programs: tuple[int, int] | None = None, *,
                     model: Path | None = None, soundfonts: Sequence[str] = SWAP_SOUNDFONTS,
                     part_tilt: tuple[float, float | None] = (0.0, None)) -> list[SwapRow]:
    """:func:`swap_table` of a TRIOS piece: ``programs`` are the GM programs of the part and the masker
    (default: :func:`default_programs`); ``part_tilt`` = (dB per octave, limit dB or None for the data
    engine's) tilts the rendered part as a training split's EQ draw would."""
    return swap_table(*trios_pair(root, piece, part, masker, programs, model=model, part_tilt=part_tilt),
                      soundfonts=soundfonts)


def _band_smoother(band_octaves: float, n_fft: int) -> np.ndarray:
    """``(bins, bins)`` rows of Gaussian weights in log-frequency, standard deviation half a band."""
    logf = np.log2(np.maximum(np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE), 20.0))
    w = np.exp(-0.5 * ((logf[:, None] - logf[None, :]) / (band_octaves / 2.0)) ** 2)
    return w / w.sum(axis=1, keepdims=True)


def transplant_envelope(src: np.ndarray, env_from: np.ndarray, *, band_octaves: float,
                        n_fft: int = TRANSPLANT_N_FFT, hop: int = HOP_LENGTH) -> np.ndarray:
    """``src`` given the spectro-temporal envelope of ``env_from`` (both (samples,) at SAMPLE_RATE).

    Both short-time spectra (Hann, ``n_fft``, ``hop``) have their power smoothed across frequency
    over ``band_octaves``; each cell of ``src``'s spectrum is scaled by the square root of the ratio
    (at most TRANSPLANT_MAX_GAIN_DB) and resynthesised, so band levels and their course in time
    follow ``env_from`` while partial frequencies, vibrato and noise inside a band stay ``src``'s.
    Returns float32 of ``src``'s length, scaled to ``env_from``'s :func:`active_level`.
    """
    from scipy.signal import istft, stft

    if band_octaves <= 0:
        raise ParameterError("band_octaves must be > 0")
    if len(src) != len(env_from):
        raise ParameterError(f"src and env_from must have the same length; got {len(src)} and {len(env_from)}")
    src = np.asarray(src, np.float64)
    kw = dict(fs=SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - hop)
    _, _, s_spec = stft(src, **kw)
    _, _, e_spec = stft(np.asarray(env_from, np.float64), **kw)
    smooth = _band_smoother(band_octaves, n_fft)
    p_src, p_env = smooth @ np.abs(s_spec) ** 2, smooth @ np.abs(e_spec) ** 2
    gain = np.sqrt(p_env / np.maximum(p_src, p_src.max() * 1e-12 + 1e-30))
    _, y = istft(s_spec * np.minimum(gain, 10.0 ** (TRANSPLANT_MAX_GAIN_DB / 20.0)), **kw)
    y = np.pad(y[: len(src)], (0, max(0, len(src) - len(y))))
    level = active_level(y)
    return (y * (active_level(env_from) / level if level > 0 else 0.0)).astype(np.float32)


@dataclass(frozen=True)
class TransplantRow:
    """The part's notes found (of ``total``) after an envelope transplant in bands of ``band_octaves``.

    ``rendered_*``: the part rendered with ``soundfont``, given the recording's envelope;
    ``recorded_*``: the recording given the render's envelope; alone and beside the recorded masker.
    """

    soundfont: str
    band_octaves: float
    total: int
    rendered_alone: int
    rendered_with_masker: int
    recorded_alone: int
    recorded_with_masker: int


def transplant_table(part_track: np.ndarray, masker_track: np.ndarray, reference: np.ndarray, transcribe, render, *,
                     soundfonts: Sequence[str] = SWAP_SOUNDFONTS,
                     bands_octaves: Sequence[float] = TRANSPLANT_BANDS_OCTAVES) -> list[TransplantRow]:
    """Envelope transplants between the recorded part and its renders, counted alone and beside the
    recorded masker; arguments as in :func:`swap_table`. One row per soundfont and band width."""

    found = _note_counter(reference, transcribe)
    rows = []
    for sf in soundfonts:
        rendered = render("part", sf)
        for band in bands_octaves:
            ren = transplant_envelope(rendered, part_track, band_octaves=band)
            rec = transplant_envelope(part_track, rendered, band_octaves=band)
            rows.append(TransplantRow(sf, float(band), len(reference), found(ren), found(ren + masker_track),
                                      found(rec), found(rec + masker_track)))
    return rows


def trios_transplant_table(root: Path, piece: str, part: str, masker: str, programs: tuple[int, int] | None = None,
                           *, model: Path | None = None, soundfonts: Sequence[str] = SWAP_SOUNDFONTS,
                           bands_octaves: Sequence[float] = TRANSPLANT_BANDS_OCTAVES,
                           part_tilt: tuple[float, float | None] = (0.0, None)) -> list[TransplantRow]:
    """:func:`transplant_table` of a TRIOS piece; arguments as in :func:`trios_swap_table`."""
    return transplant_table(*trios_pair(root, piece, part, masker, programs, model=model, part_tilt=part_tilt),
                            soundfonts=soundfonts, bands_octaves=bands_octaves)


def format_transplant(rows: Sequence[TransplantRow], *, part: str, masker: str) -> str:
    """The transplant table: per soundfont and band width, the part's notes found after each transplant."""
    total = rows[0].total if rows else 0
    table = [["soundfont", "bands", f"rend. {part}, rec. envelope", f"+ rec. {masker}",
              f"rec. {part}, rend. envelope", f"+ rec. {masker}"]]
    for r in rows:
        table.append([r.soundfont, f"1/{round(1.0 / r.band_octaves)} oct", str(r.rendered_alone),
                      str(r.rendered_with_masker), str(r.recorded_alone), str(r.recorded_with_masker)])
    return (f"{part} notes found of {total} after envelope transplants (band power frame by frame; "
            f"fine structure kept)\n" + align_columns(table))


def format_swap(rows: Sequence[SwapRow], *, part: str, masker: str) -> str:
    """The swap table: per soundfont, the part's notes found with each pairing of recorded and rendered."""
    head = rows[0]
    lines = [f"{part} notes found of {head.total}, {part} and {masker} only (renders scaled to the recording's "
             f"median active level)",
             f"  recorded {part} alone {head.part_alone}, with recorded {masker} {head.with_masker}"]
    table = [["soundfont", f"rec. {part} + rend. {masker}", f"rend. {part} alone", f"rend. {part} + rec. {masker}",
              f"rend. {part} + rend. {masker}"]]
    for r in rows[1:]:
        table.append([str(r.soundfont), str(r.with_rendered_masker), str(r.rendered_alone), str(r.rendered_with_masker),
                      str(r.rendered_with_rendered_masker)])
    return "\n".join(lines) + "\n" + align_columns(table)


def format_masking(points: Sequence[MaskingPoint], *, part: str, masker: str) -> str:
    """One line per masker gain: the gain and the part's notes found."""
    lines = [f"{part} notes found with {masker} at each gain (the other parts as recorded)"]
    for p in points:
        gain = "left out" if p.gain_db is None else f"{p.gain_db:+.0f} dB"
        lines.append(f"  {masker} {gain:>9s}: {p.found:4d} of {p.total} ({p.found / max(p.total, 1):.2f})")
    return "\n".join(lines)


def partial_snr(part_track: np.ndarray, masker_track: np.ndarray, reference: np.ndarray, *,
                n_partials: int = AUDIBILITY_PARTIALS, n_fft: int = AUDIBILITY_N_FFT) -> np.ndarray:
    """Per reference note, how far its partials stand over the masker's sound in the same bins.

    Power spectra of both tracks (Hann, ``n_fft``, hop HOP_LENGTH); for partial ``h`` of a note at
    MIDI pitch ``p`` (below Nyquist), the power in the 3 bins around ``h * f0`` averaged over the
    frames from AUDIBILITY_SPAN_S after the onset (at most to the note's end, at least one frame).
    Returns ``(n, 2)``: the best partial's part-over-masker level, dB, and how many partials the
    part dominates (level > 0 dB).
    """
    from scipy.signal import stft

    if len(part_track) != len(masker_track):
        raise ParameterError("part and masker tracks must have the same length")
    kw = dict(fs=SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - HOP_LENGTH)
    freqs, times, p_spec = stft(np.asarray(part_track, np.float64), **kw)
    _, _, m_spec = stft(np.asarray(masker_track, np.float64), **kw)
    p_pow, m_pow = np.abs(p_spec) ** 2, np.abs(m_spec) ** 2
    out = np.zeros((len(reference), 2))
    for i, (start, end, pitch) in enumerate(np.asarray(reference, float).reshape(-1, 3)):
        a = int(np.searchsorted(times, start + AUDIBILITY_SPAN_S[0]))
        b = max(a + 1, int(np.searchsorted(times, min(end, start + AUDIBILITY_SPAN_S[1]))))
        levels = []
        for h in range(1, n_partials + 1):
            f = h * midi_to_hz(pitch)
            if f >= freqs[-2]:
                break
            k = int(np.argmin(np.abs(freqs - f)))
            part = p_pow[k - 1:k + 2, a:b].sum(axis=0).mean()
            mask = m_pow[k - 1:k + 2, a:b].sum(axis=0).mean()
            levels.append(10.0 * np.log10((part + 1e-20) / (mask + 1e-20)))
        levels = np.asarray(levels) if levels else np.zeros(1)
        out[i] = levels.max(), float((levels > 0).sum())
    return out


@dataclass(frozen=True)
class AudibilityGroup:
    """Notes of one outcome with the medians of :func:`partial_snr` over them."""

    label: str
    n_notes: int
    median_best_db: float
    median_dominant: float
    none_dominant: int


def audibility_groups(part_track: np.ndarray, masker_track: np.ndarray, reference: np.ndarray, transcribe
                      ) -> list[AudibilityGroup]:
    """:func:`partial_snr` of the part's notes, grouped as found in the two-part mix, lost there but
    found alone, and lost alone too; ``transcribe`` as in :func:`masking_curve`."""
    reference = np.asarray(reference, float).reshape(-1, 3)
    snr = partial_snr(part_track, masker_track, reference)
    in_mix = M.matched_reference(reference, transcribe(np.asarray(part_track + masker_track, np.float32)))
    alone = M.matched_reference(reference, transcribe(np.asarray(part_track, np.float32)))
    groups = []
    for label, sel in (("found in the mix", in_mix), ("lost in the mix, found alone", ~in_mix & alone),
                       ("lost alone too", ~in_mix & ~alone)):
        r = snr[sel]
        groups.append(AudibilityGroup(label, int(sel.sum()), float(np.median(r[:, 0])) if len(r) else float("nan"),
                                      float(np.median(r[:, 1])) if len(r) else float("nan"),
                                      int((r[:, 1] == 0).sum())))
    return groups


def trios_audibility(root: Path, piece: str, part: str, masker: str, *, model: Path | None = None
                     ) -> list[AudibilityGroup]:
    """:func:`audibility_groups` of a TRIOS piece's two parts (recordings; the other parts left out)."""
    folder = _checked_piece(root, piece, part, masker, references=(part,))
    tracks = _recorded_pair(folder, part, masker)
    return audibility_groups(tracks[part], tracks[masker], midi_notes(folder / f"{part}.mid"), _transcriber(model))


def format_audibility(groups: Sequence[AudibilityGroup], *, part: str, masker: str) -> str:
    """One row per outcome: notes, median best-partial level over the masker, partials the part dominates."""
    table = [["notes of " + part, "n", f"best partial over {masker}, dB (median)",
              f"partials of {AUDIBILITY_PARTIALS} over {masker} (median)", "none over"]]
    for g in groups:
        if g.n_notes:
            table.append([g.label, str(g.n_notes), f"{g.median_best_db:+.1f}", f"{g.median_dominant:.0f}",
                          str(g.none_dominant)])
        else:
            table.append([g.label, "0", "-", "-", "-"])
    return (f"{part} beside {masker} (recordings only): is a lost note masked in its own partials' bins?\n"
            + align_columns(table))
