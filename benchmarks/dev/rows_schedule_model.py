"""The row ring's producer schedules as plain Python (kernels/conv2d_gelu_gap_hopper.py: _rows_produce and
_rows_produce_lean, with _rows_run), checked against each other on a grid of launches: the lean producer must store
the same rows (ring counter q, column block, input row, tiles that read it) in the same order, and every clamped
prefetch must stay inside the image. A transcription check of the two loops, run before their first device call:

    python benchmarks/dev/rows_schedule_model.py       # prints "ok N" (N = producer schedules compared)
"""

import itertools
import sys


def cdiv(a, b):
    return -(-a // b)


def runs(t_begin, t_end, OH, KH, NPROD, PID):
    """_rows_run over a program's tiles: (column block, a, e, n_rows, d1, n_mine, q_run) per run."""
    tw0 = t_begin // OH
    n_runs = ((t_end - 1) // OH - tw0 + 1) * (t_end > t_begin)
    q_run = 0
    for run in range(n_runs):
        tw = tw0 + run
        a = max(t_begin, tw * OH) - tw * OH
        e = min(t_end - 1, tw * OH + OH - 1) - tw * OH
        n_rows = e - a + KH
        d1 = (PID + NPROD - q_run % NPROD) % NPROD
        yield tw, a, e, n_rows, d1, (n_rows - d1 + NPROD - 1) // NPROD, q_run
        q_run += n_rows


def _stored(q, tw, a, e, d, KH):
    return q, tw, a + d, min(e, a + d) - max(a, a + d - KH + 1) + 1


def first_producer(t_begin, t_end, OH, KH, NPROD, PID):
    return [_stored(q_run + d1 + j * NPROD, tw, a, e, d1 + j * NPROD, KH)
            for tw, a, e, n_rows, d1, n_mine, q_run in runs(t_begin, t_end, OH, KH, NPROD, PID)
            for j in range(n_mine)]


def lean_producer(t_begin, t_end, OH, KH, NPROD, PID, H):
    out = []
    for tw, a, e, n_rows, d1, n_mine, q_run in runs(t_begin, t_end, OH, KH, NPROD, PID):
        last = a + n_rows - 1
        xa, xb = min(a + d1, last), min(a + d1 + NPROD, last)  # the input rows the two buffers hold
        loads = [xa, xb]
        for jj in range(n_mine // 2):
            d = d1 + 2 * jj * NPROD
            assert xa == a + d, "buffer A does not hold the row it stores"
            out.append(_stored(q_run + d, tw, a, e, d, KH))
            xa = min(a + d + 2 * NPROD, last)
            d += NPROD
            assert xb == a + d, "buffer B does not hold the row it stores"
            out.append(_stored(q_run + d, tw, a, e, d, KH))
            xb = min(a + d + 2 * NPROD, last)
            loads += [xa, xb]
        if n_mine % 2 == 1:
            d = d1 + (n_mine - 1) * NPROD
            assert xa == a + d, "buffer A does not hold the last row"
            out.append(_stored(q_run + d, tw, a, e, d, KH))
        assert all(0 <= r <= H - 1 for r in loads), f"a prefetch outside the image: {loads}, H={H}"
    return out


def main() -> int:
    n = 0
    for OH, OW, KH, P, NPROD in itertools.product((1, 2, 3, 5, 8, 23, 64), (128, 129, 256, 300, 520),
                                                  (1, 2, 3, 5, 7), (1, 2, 3, 7, 40, 132), (1, 2, 3)):
        tiles = OH * cdiv(OW, 128)
        per = cdiv(tiles, P)
        for pid in range(P):
            tb = min(pid * per, tiles)
            te = min(tb + per, tiles)
            for PID in range(NPROD):
                want = first_producer(tb, te, OH, KH, NPROD, PID)
                got = lean_producer(tb, te, OH, KH, NPROD, PID, OH + KH - 1)
                assert got == want, (OH, OW, KH, P, NPROD, pid, PID)
                n += 1
    print("ok", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
