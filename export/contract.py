"""Names and constants of the exported graph's contract (torch-free, shared by export and checks).

See ``docs/export.md``: input ``audio`` float32 [1, 1, T] at EXPORT_SAMPLE_RATE; outputs
``onset``, ``frame`` (each divided by its own global maximum, floored at :data:`NORM_FLOOR`) and
``onset_raw``, ``frame_raw`` (undivided), each float32 [1, N_PITCHES, ceil(T / EXPORT_HOP_LENGTH)].
"""

#: Input name of the exported graph.
INPUT_NAME: str = "audio"
#: Output names of the exported graph, in order.
OUTPUT_NAMES: tuple[str, ...] = ("onset", "frame", "onset_raw", "frame_raw")
#: Floor of the divisor of the max-normalisation: a map whose maximum is below it is divided by
#: NORM_FLOOR instead (an all-zero map stays 0 rather than NaN).
NORM_FLOOR: float = 1e-12
