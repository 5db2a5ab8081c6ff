"""Write SHD-format h5 files with class structure, for pipeline checks without the real data.

    python sweeps/fake_shd.py OUT_ROOT [--train 2000] [--test 500] [--seed 0]
    BSTDG_DATA_DIR=OUT_ROOT sweeps/table_shd.sh

Each of the 20 classes has a prototype: 150 of the 700 channels with a first-spike time in
[0, 0.8) s. A sample keeps each prototype channel with probability 0.8, jitters its time by
N(0, 0.05 s), adds a second spike 0.1 s later and 30 random noise events. The layout is the
real one (``spikes/times``, ``spikes/units`` as variable-length arrays, ``labels``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import h5py
import numpy as np

N_UNITS, N_CLASSES = 700, 20


def samples(n: int, protos: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator
            ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """``n`` samples drawn around the class prototypes (times in s, units, labels)."""
    times, units = [], []
    labels = rng.integers(0, N_CLASSES, n).astype(np.uint16)
    for label in labels:
        chans, t0 = protos[int(label)]
        keep = rng.random(len(chans)) < 0.8
        t = np.clip(t0[keep] + rng.normal(0, 0.05, keep.sum()), 0, 0.99)
        noise_u = rng.integers(0, N_UNITS, 30)
        all_t = np.concatenate([t, t + 0.1, rng.uniform(0, 1, 30)]).astype(np.float32)
        all_u = np.concatenate([chans[keep], chans[keep], noise_u]).astype(np.uint16)
        times.append(all_t)
        units.append(all_u)
    return times, units, labels


def write(path: Path, data: tuple[list[np.ndarray], list[np.ndarray], np.ndarray]) -> None:
    times, units, labels = data
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as fh:
        for key, values, dtype in (("spikes/times", times, np.float32),
                                   ("spikes/units", units, np.uint16)):
            ds = fh.create_dataset(key, (len(values),), dtype=h5py.vlen_dtype(dtype))
            for i, v in enumerate(values):
                ds[i] = v
        fh.create_dataset("labels", data=labels)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="data root; files go to OUT/SHD/shd_{train,test}.h5")
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    protos = [(rng.choice(N_UNITS, 150, replace=False), rng.uniform(0, 0.8, 150))
              for _ in range(N_CLASSES)]
    for name, n in (("train", args.train), ("test", args.test)):
        write(args.out / "SHD" / f"shd_{name}.h5", samples(n, protos, rng))
    print(f"wrote {args.out / 'SHD'}/shd_train.h5 ({args.train}) and shd_test.h5 ({args.test})")


if __name__ == "__main__":
    main()
