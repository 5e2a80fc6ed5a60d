"""Gating and global nearest-neighbour (GNN) assignment of one sensor's plots to tracks.

Candidate pairs come from a k-d tree (a coarse radius per track), so the cost of a scan grows with the number
of plausible pairs, not with tracks × plots. The exact gate and score of each pair is computed by the caller
(it needs the motion model); :func:`gnn_assign` then picks the set of pairs that maximises the summed
log-likelihood ratio

    LLR = ln( Pd · p(z | track) ) − ln( (1 − Pd) · β )

of "this plot is this track's detection" against "the track was missed and the plot is clutter or a new
target" (β: false-plot density per m², Blackman and Popoli, *Design and Analysis of Modern Tracking Systems*,
§6.2). A pair with LLR ≤ 0 is never worth making, so leaving a plot unassigned is as good as a zero-score
pair; the assignment is one call to :func:`scipy.optimize.linear_sum_assignment`.

The interface is arrays in, pairs out, so a JPDA or a multi-hypothesis associator can replace it.

>>> ti, pj = candidate_pairs(np.array([[0.0, 0.0], [1000.0, 0.0]]), np.array([200.0, 200.0]),
...                          np.array([[50.0, 0.0], [990.0, 10.0], [5000.0, 0.0]]))
>>> list(zip(ti.tolist(), pj.tolist()))
[(0, 0), (1, 1)]
>>> gnn_assign(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([5.0, 4.0, 6.0])).tolist()  # pairs 0 and 2
[0, 2]
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree


def candidate_pairs(
    track_xy_m: np.ndarray, radius_m: np.ndarray, plot_xy_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (track index, plot index) whose distance is within the track's radius, sorted by track."""
    if len(track_xy_m) == 0 or len(plot_xy_m) == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    plots = cKDTree(plot_xy_m)
    tracks = cKDTree(track_xy_m)
    found = tracks.sparse_distance_matrix(plots, float(np.max(radius_m)), output_type="ndarray")
    ti, pj, dist = found["i"].astype(np.intp), found["j"].astype(np.intp), found["v"]
    keep = dist <= radius_m[ti]
    ti, pj = ti[keep], pj[keep]
    order = np.lexsort((pj, ti))
    return ti[order], pj[order]


def gnn_assign(track_index: np.ndarray, plot_index: np.ndarray, llr: np.ndarray) -> np.ndarray:
    """The candidate pairs, at most one per track and per plot, that maximise the summed positive LLR.

    ``track_index``, ``plot_index``, ``llr`` describe the gated candidate pairs (each pair at most once);
    pairs with ``llr <= 0`` are never chosen. Returns the positions of the chosen pairs in those arrays.
    """
    useful = np.flatnonzero(llr > 0.0)
    if len(useful) == 0:
        return np.empty(0, np.intp)
    tracks, row = np.unique(track_index[useful], return_inverse=True)
    plots, col = np.unique(plot_index[useful], return_inverse=True)
    gain = np.zeros((len(tracks), len(plots)))
    gain[row, col] = llr[useful]
    pair_at = np.full((len(tracks), len(plots)), -1, np.intp)
    pair_at[row, col] = useful
    rows, cols = linear_sum_assignment(gain, maximize=True)
    chosen = pair_at[rows, cols]
    return np.sort(chosen[chosen >= 0])
