#!/usr/bin/env python3
"""PyTorch reference for `ddlab bench`: trains the same sweep model by model.

Same data (ddlab writes the prepared training and test sets as raw float32 files), widths, seeds,
epochs, batch size, loss, optimiser and evaluation schedule as ddlab. Its fastest setting on a small
CPU machine: one thread per process (measured: with 2 threads tiny models ran up to 10x slower) and
one process per core, splitting the runs, largest first. With `"device": "cuda"` (`ddlab bench
--torch-device cuda`) it trains model after model on the GPU in one process, the data on the GPU, as a
user would write it; the clock stops after the last kernel has finished.

Usage: bench_torch.py CONFIG.json   (written by `ddlab bench`; prints the wall time in seconds)
"""

import json
import multiprocessing as mp
import sys
import time


def load(path, rows, cols):
    import torch

    with open(path, "rb") as f:
        data = bytearray(f.read())
    t = torch.frombuffer(data, dtype=torch.float32)
    return t.reshape(rows, cols) if cols else t


def train_one(args):
    import torch

    torch.set_num_threads(1)
    cfg, c, width, seed = args
    dev = torch.device(cfg.get("device", "cpu"))
    cond = cfg["conditions"][c]
    n, d, k = cond["n_train"], cond["dim"], cond["classes"]
    x = load(cond["x_train"], n, d).to(dev)
    y = load(cond["y_train"], n, 0).long().to(dev)
    n_test = len(load(cond["y_test"], -1, 0))
    xt = load(cond["x_test"], n_test, d).to(dev)
    yt = load(cond["y_test"], n_test, 0).long().to(dev)
    torch.manual_seed(seed)
    layers, fan_in = [], d
    for _ in range(cfg["depth"]):
        layers += [torch.nn.Linear(fan_in, width), torch.nn.ReLU()]
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, k))
    model = torch.nn.Sequential(*layers).to(dev)
    if cfg["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    onehot = torch.nn.functional.one_hot(y, k).float()

    def loss_fn(out, target_idx, target_onehot):
        if cfg["loss"] == "ce":
            return torch.nn.functional.cross_entropy(out, target_idx)
        return ((out - target_onehot) ** 2).sum(dim=1).mean()

    batch = cfg["batch_size"] or n
    gen = torch.Generator().manual_seed(seed)
    epochs = cond.get("epochs", cfg["epochs"])
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=gen).to(dev) if batch < n else None
        for start in range(0, n, batch):
            if order is None:
                xb, yb, ob = x, y, onehot
            else:
                idx = order[start : start + batch]
                xb, yb, ob = x[idx], y[idx], onehot[idx]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), yb, ob).backward()
            opt.step()
        if epoch % cfg["eval_every"] == 0 or epoch == epochs:
            with torch.no_grad():
                (model(x).argmax(1) != y).float().mean().item()
                (model(xt).argmax(1) != yt).float().mean().item()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return width


def warm_up(device="cpu"):
    import torch

    torch.set_num_threads(1)
    if device == "cuda":
        # CUDA context and cuBLAS handles before the clock starts.
        a = torch.ones(256, 256, device="cuda")
        (a @ a).sum().item()


def ready(_):
    return True


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    runs = [(cfg, c, w, s) for c in range(len(cfg["conditions"])) for w in cfg["widths"] for s in cfg["seeds"]]
    runs.sort(key=lambda r: -r[2])
    device = cfg.get("device", "cpu")
    with mp.get_context("spawn").Pool(cfg["processes"], initializer=warm_up, initargs=(device,)) as pool:
        # Time the training only: the workers have imported torch before the clock starts.
        pool.map(ready, range(cfg["processes"]))
        start = time.perf_counter()
        for _ in pool.imap_unordered(train_one, runs):
            pass
        print(f"{time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
