"""What the dev SASS scripts (sass_fused.py, sass_epilogue.py, sass_rows.py) share: a compiled kernel's cubin
through the triton wheel's cuobjdump, on a machine without a GPU."""

import os
import subprocess

import triton


def cuobjdump(kernel, tag, *flags):
    """cuobjdump's output for each of ``flags`` (e.g. "-sass", "-res-usage") on ``kernel``'s cubin, in order."""
    tool = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"{tag}_{os.getpid()}.cubin")
    with open(path, "wb") as f:
        f.write(kernel.asm["cubin"])
    try:
        return [subprocess.run([tool, flag, path], capture_output=True, text=True, check=True).stdout
                for flag in flags]
    finally:
        os.unlink(path)
