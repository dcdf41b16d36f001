"""Time BasicAMT training steps: fp32 and bf16 autocast, each with and without channels_last.

Usage::

    python -m septimbre.basicamt.bench [--config train_scratch] [--rounds 3] [--threads 2] [--batch B] [--seconds S] [--compile]

One AdamW step (with the config's gradient clipping) on random audio and targets per mode, modes
interleaved per round (so background load affects them alike); prints wall and CPU seconds per step
(min and median over rounds) and whether this CPU has native bf16 (without it, bf16 is emulated and
the trainer's default ``--precision auto`` trains in fp32). The step is a training config's: its
network, its loss recipe (the leak and re-attack weights and the onset spread cost time of their
own) and, unless ``--batch`` / ``--seconds`` say otherwise, its batch of crops. The default,
``train_scratch``, is the one-command recipe on the shipped network. ``--compile`` adds the same
modes through ``torch.compile`` (the trainer's ``--compile``; each compiles once, untimed, for up to
a minute or two; the compiled bf16 modes only where bf16 is native).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from septimbre.utils.allocator import ALLOCATORS, rerun_under, tcmalloc_preloaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m septimbre.basicamt.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, help="crops per step (default: the config's batch_size)")
    parser.add_argument("--seconds", type=float, help="crop length, s (default: the config's clip_seconds)")
    parser.add_argument("--compile", action="store_true", help="also time each mode through torch.compile")
    parser.add_argument("--config", default="train_scratch",
                        help="training config (JSON file or bare name) whose step to time (default: train_scratch, "
                        "the shipped network with the one-command loss recipe)")
    parser.add_argument("--allocator", choices=ALLOCATORS, default="auto",
                        help="as the trainer's: auto (default) re-runs under tcmalloc when it is installed, "
                        "system keeps glibc malloc")
    args = parser.parse_args(argv)
    if argv is None:  # the command line: time what the trainer would run under
        rerun_under(args.allocator, "septimbre.basicamt.bench")

    import torch
    from septimbre.basicamt.network import BasicAMT
    from septimbre.basicamt.train import native_bf16, step_loss_fn
    from septimbre.basicamt.train_config import TrainConfig
    from septimbre.utils.constants import HOP_LENGTH, N_PITCHES, SAMPLE_RATE

    torch.set_num_threads(args.threads)
    cfg = TrainConfig.load(args.config)
    batch = args.batch or cfg.batch_size
    seconds = args.seconds or cfg.clip_seconds
    frames = int(round(seconds * SAMPLE_RATE / HOP_LENGTH))
    g = torch.Generator().manual_seed(0)
    audio = 0.1 * torch.randn(batch, frames * HOP_LENGTH, generator=g)
    onset = (torch.rand(batch, N_PITCHES, frames, generator=g) > 0.99).float()
    frame = (torch.rand(batch, N_PITCHES, frames, generator=g) > 0.9).float()
    native = native_bf16()
    names = ["fp32", "fp32+channels_last", "bf16", "bf16+channels_last"]
    if args.compile:
        names += [f"compiled {m}" for m in names if native or not m.startswith("bf16")]
    modes = {}
    for mode in names:
        torch.manual_seed(0)
        model = BasicAMT.from_config(cfg.model).train()
        if mode.endswith("channels_last"):
            model = model.to(memory_format=torch.channels_last)
            model.channels_last = True
        loss_fn = step_loss_fn(model, bf16="bf16" in mode, compiled=mode.startswith("compiled"),
                               loss_kwargs=cfg.loss_kwargs())
        modes[mode] = (model, torch.optim.AdamW(model.parameters(), 1e-3), loss_fn)
    wall: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}

    def step(mode: str) -> None:
        model, opt, loss_fn = modes[mode]
        t, c = time.perf_counter(), time.process_time()
        loss = loss_fn(audio, onset, frame).total
        opt.zero_grad()
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        wall[mode].append(time.perf_counter() - t)
        cpu[mode].append(time.process_time() - c)

    for mode in modes:  # warm-up
        step(mode)
        wall[mode].clear()
        cpu[mode].clear()
    for _ in range(args.rounds):
        for mode in modes:
            step(mode)
    n_params = modes["fp32"][0].n_parameters()
    allocator = "tcmalloc" if tcmalloc_preloaded(os.environ) else "system malloc"
    print(f"{args.config} ({n_params:,} parameters), batch {batch} x {seconds:g} s, "
          f"{args.threads} threads, {args.rounds} rounds; native bf16: {'yes' if native else 'no'}; {allocator}")
    for mode in modes:
        w, c = wall[mode], cpu[mode]
        print(f"{mode:>29}: wall {min(w):6.2f} s/step (median {statistics.median(w):6.2f}), "
              f"CPU {min(c):6.2f} s/step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
