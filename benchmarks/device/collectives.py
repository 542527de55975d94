"""NCCL collective bandwidth through torch.distributed, nccl-tests methodology.

torchrun --nproc_per_node=2 benchmarks/device/collectives.py --out coll.jsonl --budget-s 150
python benchmarks/device/collectives.py --p2p-copy --out p2p.jsonl     (one process, cuda:0 -> cuda:1)
CPU smoke: torchrun --nproc_per_node=2 benchmarks/device/collectives.py --cpu-smoke --out x.jsonl (gloo)

"bytes" is nccl-tests' S (doc/PERFORMANCE.md): all_reduce/broadcast/send-recv: the buffer;
all_gather: the whole gathered output (sendcount*n*size); reduce_scatter: the whole input
(recvcount*n*size); all_to_all: one rank's whole send buffer. algbw = S/t,
busbw = algbw * factor (all_reduce 2(n-1)/n; all_gather, reduce_scatter, all_to_all (n-1)/n;
broadcast, send/recv 1). t = time per op on rank 0's stream between CUDA events, max over ranks.
NVLink multicast stays off: NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1.
"""
from __future__ import annotations

import argparse
import json
import os
import time

for _k, _v in (("NCCL_NVLS_ENABLE", "0"), ("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1"), ("NVSHMEM_DISABLE_NVLS", "1")):
    os.environ.setdefault(_k, _v)
    assert os.environ[_k] == _v, f"{_k} must be {_v}"

OPS = ["all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast", "sendrecv_uni", "sendrecv_bi"]


def busbw_factor(op, n):
    if op == "all_reduce":
        return 2 * (n - 1) / n
    if op in ("all_gather", "reduce_scatter", "all_to_all"):
        return (n - 1) / n
    return 1.0


def make_op(op, nbytes, dtype, dev, rank, world):
    import torch
    import torch.distributed as dist
    es = torch.tensor([], dtype=dtype).element_size()
    cnt = nbytes // es
    cnt -= cnt % world
    if op == "all_reduce":
        x = torch.randn(cnt, device=dev).to(dtype)
        return lambda: dist.all_reduce(x)
    if op == "all_gather":
        inp = torch.randn(cnt // world, device=dev).to(dtype)
        out = torch.empty(cnt, device=dev, dtype=dtype)
        return lambda: dist.all_gather_into_tensor(out, inp)
    if op == "reduce_scatter":
        inp = torch.randn(cnt, device=dev).to(dtype)
        out = torch.empty(cnt // world, device=dev, dtype=dtype)
        return lambda: dist.reduce_scatter_tensor(out, inp)
    if op == "all_to_all":
        inp = torch.randn(cnt, device=dev).to(dtype)
        out = torch.empty_like(inp)
        return lambda: dist.all_to_all_single(out, inp)
    if op == "broadcast":
        x = torch.randn(cnt, device=dev).to(dtype)
        return lambda: dist.broadcast(x, 0)
    x = torch.randn(cnt, device=dev).to(dtype)
    y = torch.empty_like(x)
    peer = (rank + 1) % world
    prev = (rank - 1) % world
    if op == "sendrecv_uni":  # rank 0 -> rank 1 only
        def f():
            if rank == 0:
                dist.send(x, 1)
            elif rank == 1:
                dist.recv(y, 0)
        return f
    if op == "sendrecv_bi":  # every rank sends to next and receives from previous at once

        def g():
            reqs = dist.batch_isend_irecv([dist.P2POp(dist.isend, x, peer), dist.P2POp(dist.irecv, y, prev)])
            for r in reqs:
                r.wait()
        return g
    raise ValueError(op)


def timed(fn, n, dev):
    import torch
    if dev.startswith("cuda"):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(n):
            fn()
        b.record()
        torch.cuda.synchronize()
        return a.elapsed_time(b) / n
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) * 1e3 / n


def run_collectives(a):
    import torch
    import torch.distributed as dist
    smoke = a.cpu_smoke
    dist.init_process_group("gloo" if smoke else "nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    dev = "cpu" if smoke else f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    if not smoke:
        torch.cuda.set_device(dev)
    t0 = time.time()
    ops = [o for o in (a.ops.split(",") if a.ops else OPS)]
    if smoke:
        ops = [o for o in ops if o not in ("all_to_all",)]  # gloo lacks some; keep smoke light
    lo, hi = a.min_pow, (16 if smoke else a.max_pow)
    sizes = [2**p for p in range(lo, hi + 1)]
    if a.sizes:
        sizes = [int(s) for s in a.sizes.split(",")]
    dtypes = {"bf16": torch.bfloat16, "fp32": torch.float32}
    cases = []
    for op in ops:
        cases.append((op, "bf16"))
        if op == "all_reduce" and not a.no_fp32:
            cases.append((op, "fp32"))
    f = open(a.out, "a") if rank == 0 else None
    env = {k: os.environ.get(k) for k in ("NCCL_ALGO", "NCCL_PROTO", "NCCL_NVLS_ENABLE")}
    if rank == 0:
        nccl = None
        if not smoke:
            v = torch.cuda.nccl.version()
            nccl = ".".join(map(str, v)) if isinstance(v, tuple) else str(v)
        f.write(json.dumps({"kind": "coll_env", "world": world, "nccl": nccl, "torch": torch.__version__,
                            "env": env, "device": torch.cuda.get_device_name(0) if not smoke else "cpu"}) + "\n")
        f.flush()
    devname = torch.cuda.get_device_name(0) if not smoke else "cpu"
    stop = torch.zeros(1, device=dev)
    for op, dn in cases:
        for nb in sizes:
            # collective decision to stop on budget (rank 0 decides)
            stop.fill_(1.0 if (time.time() - t0) > a.budget_s else 0.0)
            dist.broadcast(stop, 0)
            if stop.item() > 0:
                break
            rec = {"kind": "collective", "op": op, "dtype": dn, "bytes": nb, "world": world,
                   "device": devname, **{k: v for k, v in env.items() if v and k != "NCCL_NVLS_ENABLE"}}
            try:
                fn = make_op(op, nb, dtypes[dn], dev, rank, world)
                for _ in range(5):
                    fn()
                t1 = timed(fn, 3, dev)
                tgt = a.target_ms
                n = int(max(5, min(2000, tgt / max(t1, 1e-3))))
                # agree on n across ranks
                nt = torch.tensor([float(n)], device=dev)
                dist.all_reduce(nt, op=dist.ReduceOp.MIN)
                n = int(nt.item())
                dist.barrier()
                ms = timed(fn, n, dev)
                mt = torch.tensor([ms], device=dev)
                dist.all_reduce(mt, op=dist.ReduceOp.MAX)
                ms = float(mt.item())
                algbw = nb / ms / 1e6
                rec.update(n_iters=n, ms=ms, us=ms * 1e3, algbw_gbps=algbw,
                           busbw_gbps=algbw * busbw_factor(op, world))
                del fn
            except Exception as e:  # noqa: BLE001
                rec["error"] = f"{type(e).__name__}: {str(e)[:300]}"
                if "out of memory" in str(e).lower():
                    rec["oom"] = True
            if not smoke:
                torch.cuda.empty_cache()
            if rank == 0:
                f.write(json.dumps(rec) + "\n")
                f.flush()
                if nb in (1024, 2**20, 2**30, 2**32) or "error" in rec:
                    print(f"[coll] {op} {dn} {nb}: {rec.get('us', 0):.1f}us busbw={rec.get('busbw_gbps', 0):.1f} {rec.get('error', '')}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


def p2p_copy(a):
    import torch
    rec0 = {"kind": "p2p_copy"}
    if torch.cuda.device_count() < 2:
        print("need 2 GPUs")
        return
    rec0["can_access_peer"] = torch.cuda.can_device_access_peer(0, 1)
    with open(a.out, "a") as f:
        for p in range(10, 33, 2):
            nb = 2**p
            rec = dict(rec0, bytes=nb, device=torch.cuda.get_device_name(0))
            try:
                x = torch.empty(nb, dtype=torch.uint8, device="cuda:0").random_()
                y = torch.empty(nb, dtype=torch.uint8, device="cuda:1")
                for _ in range(3):
                    y.copy_(x)
                torch.cuda.synchronize(0)
                torch.cuda.synchronize(1)
                n = max(3, min(500, int(2e9 / max(nb, 1) * 0.05))) if nb > 2**20 else 200
                t = time.perf_counter()
                for _ in range(n):
                    y.copy_(x)  # x.to('cuda:1') into a preallocated buffer
                torch.cuda.synchronize(0)
                torch.cuda.synchronize(1)
                ms = (time.perf_counter() - t) * 1e3 / n
                # also the allocating form
                t = time.perf_counter()
                z = x.to("cuda:1")
                torch.cuda.synchronize(1)
                ms_to = (time.perf_counter() - t) * 1e3
                del z
                rec.update(n_iters=n, ms=ms, gbps=nb / ms / 1e6, ms_to_single=ms_to)
            except Exception as e:  # noqa: BLE001
                rec["error"] = str(e)[:300]
            f.write(json.dumps(rec) + "\n")
            f.flush()
            print(f"[p2p] {nb}: {rec.get('ms', 0):.4f} ms {rec.get('gbps', 0):.1f} GB/s", flush=True)
            del x, y
            torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=150)
    ap.add_argument("--ops", default="")
    ap.add_argument("--sizes", default="")
    ap.add_argument("--min-pow", type=int, default=10)
    ap.add_argument("--max-pow", type=int, default=32)
    ap.add_argument("--target-ms", type=float, default=40.0)
    ap.add_argument("--no-fp32", action="store_true")
    ap.add_argument("--p2p-copy", action="store_true")
    ap.add_argument("--cpu-smoke", action="store_true")
    a = ap.parse_args()
    if a.p2p_copy:
        p2p_copy(a)
    else:
        run_collectives(a)


if __name__ == "__main__":
    main()
