"""The best tree over a table's token columns (Chow and Liu, 1968) and its conditional tables.

Shared by ``bayesnet`` (the tree is the model) and ``arm`` (on small tables the tree's tables are
where its logits start, see :class:`synthkit.models.arm.ARNet`). The tree is the maximum spanning
tree of the columns' pairwise mutual information: among all models in which each column depends
on one other, the one of highest likelihood, so it links the strongest pairs of the table.

- Mutual information is corrected for its small-sample bias (the plug-in estimate of two
  independent columns is about (k_i - 1)(k_j - 1) / 2n), so that wide columns are not linked for
  their width, and a pair is linked only if a G-test finds it dependent (:data:`LINK_P`): a link
  between independent columns would only carry the training rows' noise. The tree may therefore be
  a forest.
- A conditional table mixes ``smoothing`` pseudo-rows of the child's overall distribution into
  each parent value's counts: a parent value seen once does not fix its child to that row's value.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree
from scipy.stats import chi2

__all__ = ["LINK_P", "SMOOTHING", "best_tree", "conditional_table", "mutual_information", "parents_in_order", "spanning_forest", "walk"]

LINK_P = 0.01  # a pair is linked only if independence would show its information with less than this chance
SMOOTHING = 0.5  # pseudo-rows of a child's overall distribution per parent value, in bayesnet and arm's tree prior


def mutual_information(tokens: np.ndarray, sizes: list[int]) -> np.ndarray:
    """(columns, columns) mutual information (nats) of every pair of token columns: the plug-in
    estimate less its small-sample bias (k_i - 1)(k_j - 1) / 2n over the tokens each column shows,
    floored at 0, and 0 for pairs a G-test at :data:`LINK_P` does not find dependent.

    One ``bincount`` per column counts its joint with every later column (rows are never looped
    over); the loop over pairs then works on those small count tables.
    """
    n, c = tokens.shape
    out = np.zeros((c, c))
    if n == 0 or c < 2:
        return out
    shown = [len(np.unique(tokens[:, j])) for j in range(c)]
    for i in range(c - 1):
        later = np.arange(i + 1, c)
        widths = np.array([sizes[i] * sizes[j] for j in later])
        starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
        codes = starts[None, :] + tokens[:, i:i + 1] * np.array([sizes[j] for j in later])[None, :] + tokens[:, later]
        counts = np.bincount(codes.ravel(), minlength=int(widths.sum()))
        for start, width, j in zip(starts, widths, later, strict=True):
            joint = counts[start:start + width].reshape(sizes[i], sizes[j]) / n
            outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
            seen = joint > 0
            plug_in = float((joint[seen] * np.log(joint[seen] / outer[seen])).sum())
            freedom = (shown[i] - 1) * (shown[j] - 1)
            if freedom == 0 or 2 * n * plug_in < chi2.ppf(1 - LINK_P, freedom):  # no evidence of dependence (G-test)
                continue
            out[i, j] = out[j, i] = max(plug_in - freedom / (2 * n), 0.0)
    return out


def spanning_forest(information: np.ndarray) -> np.ndarray:
    """(columns, columns) symmetric boolean adjacency of the maximum spanning forest of ``information``
    (pairs of zero information are never linked)."""
    # scipy's spanning tree is a minimum one and reads 0 as "no edge": negate (it is deterministic for one input)
    weights = np.where(information > 0, -information, 0.0)
    tree = minimum_spanning_tree(csr_matrix(np.triu(weights, 1))).toarray()
    return (tree != 0) | (tree.T != 0)


def walk(linked: np.ndarray, information: np.ndarray) -> list[int]:
    """Every column once, tree by tree: each tree breadth first from its column of most total
    information, so that every column comes after its neighbour towards the root."""
    n_parts, labels = connected_components(csr_matrix(linked), directed=False)
    total = information.sum(1)
    order: list[int] = []
    for part in range(n_parts):
        members = np.flatnonzero(labels == part)
        root = int(members[np.argmax(total[members])])
        order.extend(int(j) for j in breadth_first_order(csr_matrix(linked), root, directed=False,
                                                           return_predecessors=False))
    return order


def parents_in_order(linked: np.ndarray, information: np.ndarray, order: list[int]) -> list[int]:
    """``parents[j]``: column j's tree neighbour of most information among those before it in ``order``,
    -1 if none. In :func:`walk`'s order that is each column's neighbour towards its root; in another
    order (columns a user put first) a column with two neighbours before it keeps the stronger link."""
    position = np.empty(len(order), dtype=np.int64)
    position[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    parents = []
    for j in range(len(order)):
        before = np.flatnonzero(linked[j] & (position < position[j]))
        parents.append(int(before[np.argmax(information[j, before])]) if len(before) else -1)
    return parents


def best_tree(information: np.ndarray, first: list[int] | None = None) -> tuple[list[int], list[int]]:
    """(order, parents) of the maximum spanning forest of ``information``: the columns ``first`` (in
    that order), then the rest in :func:`walk`'s order, each column's parent chosen by
    :func:`parents_in_order` (-1 for none)."""
    linked = spanning_forest(information)
    head = list(first or [])
    order = head + [j for j in walk(linked, information) if j not in head]
    return order, parents_in_order(linked, information, order)


def conditional_table(tokens: np.ndarray, child: int, parent: int, sizes: list[int], smoothing: float) -> np.ndarray:
    """(parent's tokens, or 1 for a root; child's tokens) distribution of ``child`` given each parent token.

    A root's row is its counted distribution. A child's row for parent value p is its counts among
    the rows with p plus ``smoothing`` pseudo-rows of its overall distribution (a parent value never
    seen gets the overall distribution).
    """
    k = sizes[child]
    overall = np.bincount(tokens[:, child], minlength=k)[:k].astype(float)
    overall = overall / overall.sum() if overall.sum() > 0 else np.full(k, 1.0 / k)
    if parent < 0:
        return overall[None, :]
    counts = np.bincount(tokens[:, parent] * k + tokens[:, child], minlength=sizes[parent] * k)
    counts = counts[:sizes[parent] * k].reshape(sizes[parent], k)
    return (counts + smoothing * overall) / (counts.sum(1, keepdims=True) + smoothing)
