#!/usr/bin/env python3
"""PyTorch reference for `ddlab bench`: trains the same sweep as ddlab, in one of three strategies.

Same data (ddlab writes the prepared training and test sets as raw float32 files), widths, seeds,
epochs, batch size, loss, optimiser and evaluation schedule as ddlab. Strategies:

- `separate`: model by model, as a user would write it (nn.Sequential, torch.optim).
- `packed`: the seeds of one width (and condition) as one batched model: weights `[S, out, in]`,
  batched matmuls (`torch.matmul` broadcasting / `baddbmm`), the loss the sum of the models' mean
  losses, so each model's gradient is its own, and torch.optim on the stacked tensors (Adam and SGD
  are element-wise, so this is the models' own optimisers). Each seed's initial weights are those
  `separate` draws.
- `compiled`: `packed` with the training step under `torch.compile` (its compile time is paid inside
  the clock, as a user pays it).

On a small CPU machine the fastest setting is one thread per process (measured: with 2 threads tiny
models ran up to 10x slower) and one process per core, splitting the jobs, largest first. With
`"device": "cuda"` (`ddlab bench --torch-device cuda`) it trains job after job on the GPU in one process,
the data on the GPU; the clock stops after the last kernel has finished.

Usage: bench_torch.py CONFIG.json [separate|packed|compiled]   (CONFIG written by `ddlab bench`; prints
the wall time in seconds; the default strategy is separate)
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


def condition_data(cfg, c):
    """The device, condition c's settings and its data on the device: x, y (train), xt, yt (test)."""
    import torch

    dev = torch.device(cfg.get("device", "cpu"))
    cond = cfg["conditions"][c]
    n, d = cond["n_train"], cond["dim"]
    n_test = len(load(cond["y_test"], -1, 0))
    x = load(cond["x_train"], n, d).to(dev)
    y = load(cond["y_train"], n, 0).long().to(dev)
    xt = load(cond["x_test"], n_test, d).to(dev)
    yt = load(cond["y_test"], n_test, 0).long().to(dev)
    return dev, cond, (x, y, xt, yt)


def train_one(args):
    import torch

    torch.set_num_threads(1)
    cfg, c, width, seed = args
    dev, cond, (x, y, xt, yt) = condition_data(cfg, c)
    n, d, k = cond["n_train"], cond["dim"], cond["classes"]
    linear = initial_layers(cfg, width, seed, d, k)
    layers = [m for hidden in linear[:-1] for m in (hidden, torch.nn.ReLU())] + [linear[-1]]
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


def initial_layers(cfg, width, seed, d, k):
    """The linear layers of this seed's network (nn.Linear's default initialisation, drawn after
    torch.manual_seed(seed)): `separate` trains them, `packed` stacks them."""
    import torch

    torch.manual_seed(seed)
    layers, fan_in = [], d
    for _ in range(cfg["depth"]):
        layers.append(torch.nn.Linear(fan_in, width))
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, k))
    return layers


def train_packed(args):
    """Every seed of one (condition, width) as one batched model."""
    import torch

    torch.set_num_threads(1)
    cfg, c, width, compiled = args
    dev, cond, (x, y, xt, yt) = condition_data(cfg, c)
    n, d, k = cond["n_train"], cond["dim"], cond["classes"]
    seeds = cfg["seeds"]
    per_seed = [initial_layers(cfg, width, s, d, k) for s in seeds]
    weights, biases = [], []
    for layer in range(cfg["depth"] + 1):
        w = torch.stack([m[layer].weight.detach() for m in per_seed]).to(dev).requires_grad_()
        b = torch.stack([m[layer].bias.detach() for m in per_seed]).unsqueeze(1).to(dev).requires_grad_()
        weights.append(w)
        biases.append(b)
    params = weights + biases
    if cfg["optimizer"] == "adam":
        opt = torch.optim.Adam(params, lr=cfg["lr"])
    else:
        opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"])
    onehot = torch.nn.functional.one_hot(y, k).float()

    def forward(h):
        # h: [n, d] shared by the models, or [S, n, d].
        for w, b in zip(weights[:-1], biases[:-1]):
            h = torch.relu(torch.matmul(h, w.transpose(1, 2)) + b)
        return torch.matmul(h, weights[-1].transpose(1, 2)) + biases[-1]

    def step(xb, yb, ob):
        out = forward(xb)  # [S, b, k]
        if cfg["loss"] == "ce":
            loss = torch.nn.functional.cross_entropy(out.reshape(-1, k), yb.reshape(-1), reduction="sum") / out.shape[1]
        else:
            loss = ((out - ob) ** 2).sum(dim=2).mean(dim=1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if compiled:
        step = torch.compile(step)
    batch = cfg["batch_size"] or n
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    epochs = cond.get("epochs", cfg["epochs"])
    full = batch >= n
    for epoch in range(1, epochs + 1):
        if full:
            step(x, y.expand(len(seeds), n), onehot.expand(len(seeds), n, k))
        else:
            orders = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(dev)
            for start in range(0, n, batch):
                idx = orders[:, start : start + batch]
                step(x[idx], y[idx], onehot[idx])
        if epoch % cfg["eval_every"] == 0 or epoch == epochs:
            with torch.no_grad():
                (forward(x).argmax(2) != y).float().mean(dim=1).tolist()
                (forward(xt).argmax(2) != yt).float().mean(dim=1).tolist()
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
    strategy = sys.argv[2] if len(sys.argv) > 2 else "separate"
    if strategy == "separate":
        work = train_one
        runs = [(cfg, c, w, s) for c in range(len(cfg["conditions"])) for w in cfg["widths"] for s in cfg["seeds"]]
    elif strategy in ("packed", "compiled"):
        work = train_packed
        runs = [(cfg, c, w, strategy == "compiled") for c in range(len(cfg["conditions"])) for w in cfg["widths"]]
    else:
        sys.exit(f"unknown strategy {strategy!r}: separate, packed or compiled")
    runs.sort(key=lambda r: -r[2])
    device = cfg.get("device", "cpu")
    with mp.get_context("spawn").Pool(cfg["processes"], initializer=warm_up, initargs=(device,)) as pool:
        # Time the training only: the workers have imported torch before the clock starts.
        pool.map(ready, range(cfg["processes"]))
        start = time.perf_counter()
        for _ in pool.imap_unordered(work, runs):
            pass
        print(f"{time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
