"""Chunked, thread-parallel sampling: the same seed gives the same rows at any thread count."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.models import create
from synthkit.models.chunked import map_chunks

# model name -> (module holding its chunk size, attribute, training parameters for a quick fit)
SAMPLERS = {
    "arm": ("synthkit.models.arm", "_CHUNK", {"epochs": 2, "hidden": 32, "embedding_dim": 8, "n_bins": 16}),
    "gan": ("synthkit.models.gan", "_SAMPLE_CHUNK", {"epochs": 1, "batch_size": 200, "embedding_dim": 16,
                                                     "generator_dims": (32, 32), "critic_dims": (32, 32)}),
    "flow": ("synthkit.models.flow", "_SAMPLE_CHUNK", {"epochs": 2}),
    "vae": ("synthkit.models.vae", "_SAMPLE_CHUNK", {"epochs": 1, "batch_size": 200, "latent_dim": 8,
                                                     "encoder_dims": (16,), "decoder_dims": (16,)}),
    "copula": ("synthkit.models.copula", "_SAMPLE_CHUNK", {}),
    "bayesnet": ("synthkit.models.bayesnet", "_CHUNK", {"n_bins": 16}),
}


def test_map_chunks_covers_every_row_in_order_with_one_seed_per_chunk():
    seen: list[tuple[int, int]] = []

    def draw(rows: int, seed: int) -> tuple[int, int]:
        assert not torch.is_grad_enabled(), "chunks run without autograd, in any thread"
        seen.append((rows, seed))
        return rows, seed

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        out = map_chunks(2500, 1000, 40, draw)
    finally:
        torch.set_num_threads(threads)
    assert out == [(1000, 40), (1000, 41), (500, 42)]
    assert sorted(seen) == sorted(out)
    assert map_chunks(0, 1000, 40, draw) == []


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_rows_do_not_depend_on_the_thread_count(name: str, adult_small: pd.DataFrame, monkeypatch):
    module, attribute, params = SAMPLERS[name]
    monkeypatch.setattr(importlib.import_module(module), attribute, 700)  # several chunks even for 3,000 rows
    model = create(name, seed=0, **params).fit(adult_small)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        serial = model.sample(3000, seed=7)
        torch.set_num_threads(2)
        parallel = model.sample(3000, seed=7)
        restored = torch.get_num_threads()
    finally:
        torch.set_num_threads(threads)
    pd.testing.assert_frame_equal(serial, parallel)
    assert restored == 2, "torch's own thread count is restored after the parallel chunks"
    # chunks have their own seeds: the first two chunks are not the same rows
    first, second = serial.iloc[:700].reset_index(drop=True), serial.iloc[700:1400].reset_index(drop=True)
    assert not first.equals(second)
    assert np.mean(first["age"].to_numpy() == second["age"].to_numpy()) < 0.5
