"""Render the bundled example: a 6-second flute + cello duet written here, synthesised with FluidSynth.

Writes ``duet.mid`` (the score, the ground truth) and ``duet.flac`` (mono, 22.05 kHz, 16 bit) next
to this file. Needs ``pretty_midi``, ``pyfluidsynth`` and the TimGM6mb soundfont (Debian package
``timgm6mb-soundfont``)::

    python septimbre/examples/make_example.py [--sf2 /usr/share/sounds/sf2/TimGM6mb.sf2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SF2 = "/usr/share/sounds/sf2/TimGM6mb.sf2"
RATE = 22050
BEAT_S = 0.6  # 100 bpm
#: (start beat, length in beats, MIDI pitch) per part; General MIDI programs 73 flute, 42 cello.
FLUTE = [(0, 1, 72), (1, 1, 74), (2, 1, 76), (3, 1, 77), (4, 2, 79), (6, 1, 77), (7, 1, 76), (8, 2, 74)]
CELLO = [(0, 2, 48), (2, 2, 45), (4, 2, 41), (6, 2, 43), (8, 2, 48)]
PARTS = (("flute", 73, 88, FLUTE), ("cello", 42, 80, CELLO))


def score():
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=60.0 / BEAT_S)
    for name, program, velocity, notes in PARTS:
        inst = pretty_midi.Instrument(program=program, name=name)
        for beat, length, pitch in notes:
            start = beat * BEAT_S
            inst.notes.append(pretty_midi.Note(velocity, pitch, start, start + length * BEAT_S * 0.95))
        pm.instruments.append(inst)
    return pm


def main(argv: list[str] | None = None) -> None:
    import soundfile as sf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf2", default=SF2, help="General MIDI soundfont")
    args = parser.parse_args(argv)
    pm = score()
    pm.write(str(HERE / "duet.mid"))
    audio = pm.fluidsynth(fs=RATE, synthesizer=args.sf2)
    audio = audio[: int((pm.get_end_time() + 0.5) * RATE)]
    audio = (0.7 * audio / np.abs(audio).max()).astype(np.float32)
    sf.write(HERE / "duet.flac", audio, RATE, subtype="PCM_16")
    print(f"wrote {HERE / 'duet.mid'} and {HERE / 'duet.flac'} ({audio.size / RATE:.2f} s)")


if __name__ == "__main__":
    main()
