"""Probe (issue 17, the overlap item): does a warp-specialized Gluon kernel with an asynchronous TF32 wgmma
compile offline for sm_90 with the device's Triton, and does Gluon run in the interpreter?

    pip install --no-deps --target /tmp/t36 triton==3.6.0
    PYTHONPATH=/tmp/t36 python benchmarks/dev/gluon_probe.py [--interpret]

A toy, not a kernel of the project: a 4-warp producer partition loads two [64, 16] fp32 tiles into shared memory
and arrives on an mbarrier; the default (consumer) partition waits, runs one async m64n64k8 TF32 wgmma (B K-major)
and stores the row sums of A @ B^T. Answers recorded in benchmarks/dev/NOTES-fused.md ("Gluon").
"""
import os
import sys

if "--interpret" in sys.argv:
    os.environ["TRITON_INTERPRET"] = "1"

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.experimental import gluon  # noqa: E402
from triton.experimental.gluon import language as gl  # noqa: E402
from triton.experimental.gluon._runtime import GluonASTSource  # noqa: E402
from triton.experimental.gluon.language.nvidia import hopper  # noqa: E402


@gluon.jit
def _producer(a_ptr, b_ptr, smem, bsmem, bar):
    layout: gl.constexpr = gl.BlockedLayout([1, 4], [8, 4], [4, 1], [1, 0])
    offs_m = gl.arange(0, 64, layout=gl.SliceLayout(1, layout))
    offs_k = gl.arange(0, 16, layout=gl.SliceLayout(0, layout))
    smem.store(gl.load(a_ptr + offs_m[:, None] * 16 + offs_k[None, :]))
    bsmem.store(gl.load(b_ptr + offs_m[:, None] * 16 + offs_k[None, :]))
    hopper.fence_async_shared()
    hopper.mbarrier.arrive(bar, count=1)


@gluon.jit
def _consumer(out_ptr, smem, bsmem, bar):
    hopper.mbarrier.wait(bar, 0)
    acc_layout: gl.constexpr = gl.NVMMADistributedLayout(version=[3, 0], warps_per_cta=[4, 1], instr_shape=[16, 64, 8])
    acc = gl.zeros([64, 64], gl.float32, acc_layout)
    acc = hopper.warpgroup_mma(smem, bsmem.permute((1, 0)), acc, is_async=True)
    acc = hopper.warpgroup_mma_wait(0, deps=[acc])
    s = gl.sum(acc, axis=1)
    offs = gl.arange(0, 64, layout=gl.SliceLayout(1, acc_layout))
    gl.store(out_ptr + offs, s)


@gluon.jit
def kern(a_ptr, b_ptr, out_ptr):
    sl: gl.constexpr = gl.NVMMASharedLayout(swizzle_byte_width=64, element_bitwidth=32, rank=2)
    smem = gl.allocate_shared_memory(gl.float32, [64, 16], sl)
    bsmem = gl.allocate_shared_memory(gl.float32, [64, 16], sl)
    bar = gl.allocate_shared_memory(gl.int64, [1], hopper.mbarrier.MBarrierLayout())
    hopper.mbarrier.init(bar, count=1)
    gl.warp_specialize([(_consumer, (out_ptr, smem, bsmem, bar)), (_producer, (a_ptr, b_ptr, smem, bsmem, bar))],
                       [4], [128])


def main():
    if "--interpret" in sys.argv:  # run it on CPU tensors (TRITON_INTERPRET=1 was set before triton's import)
        import torch

        a, b, out = torch.randn(64, 16), torch.randn(64, 16), torch.empty(64)
        try:
            kern[(1,)](a, b, out, num_warps=4)
            ok = torch.allclose(out, (a @ b.T).sum(1), rtol=1e-2, atol=1e-2)
            print(f"triton {triton.__version__}: interpreter ran it, result {'right' if ok else 'WRONG'}")
        except Exception as e:  # 3.6: "0 active drivers"; 3.9: a compilation error - no Gluon interpreter
            print(f"triton {triton.__version__}: interpreter: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
        return
    src = GluonASTSource(fn=kern, signature={"a_ptr": "*fp32", "b_ptr": "*fp32", "out_ptr": "*fp32"})
    k = triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": 4})
    wgmma = [ln.strip().split(" ")[0] for ln in k.asm["ptx"].splitlines() if "wgmma.mma_async" in ln]
    print(f"triton {triton.__version__}: compiled for sm_90, cubin {len(k.asm['cubin'])} bytes, {wgmma[:1]}")


if __name__ == "__main__":
    main()
