"""Smooth channels of ``sequence`` written as step changes (synthkit/models/sequence_delta.py).

On real Beijing weather (one station, 48-hour windows): which channels count as smooth, the exact
round trip of level + integrated steps, clipping to the observed range, and the model's sampling
(shape, determinism per seed, model file) with the channels integrated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.models import Synthesizer, create, get
from synthkit.models.sequence_delta import Integrator, grid_of, level_inputs, smooth_columns, split_levels, value_table
from synthkit.models.sequence_net import ColumnCodec

MEASURES = ["PM2.5", "TEMP", "PRES", "DEWP", "RAIN", "WSPM"]


@pytest.fixture(scope="module")
def beijing(shared_datasets: Path) -> pd.DataFrame:
    """40 windows of 48 hours of one station, with the station as context."""
    df = pd.read_csv(next((shared_datasets / "beijing-multisite-air-quality").glob("PRSA_Data_Aotizhongxin_*.csv.gz")), nrows=48 * 40)
    df["time"] = pd.to_datetime(df[["year", "month", "day", "hour"]])
    df["window"] = "w" + (np.arange(len(df)) // 48).astype(str)
    return df[["window", "time", "station", *MEASURES]]


def _codecs_and_integrator(values: np.ndarray, ent: np.ndarray) -> tuple[list[ColumnCodec], list[np.ndarray], Integrator]:
    grid = grid_of(values)
    level, step, _ = split_levels(values, ent, grid)
    codecs = [ColumnCodec.fit(level, "numerical", 50, 16), ColumnCodec.fit(step, "numerical", 50, 16)]
    tokens = [codecs[0].encode(level), codecs[1].encode(step)]
    tokens += [codecs[0].encode_fine(level, tokens[0]), codecs[1].encode_fine(step, tokens[1])]
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    channel = {"level": 0, "level_fine": 2, "step": 1, "step_fine": 3, "low": low, "high": high, "scale": high - low, "grid": grid}
    return codecs, tokens, Integrator([channel], {i: (*value_table(k), k.fine, k.missing_token) for i, k in enumerate(codecs)})


def _integrate(integ: Integrator, tokens: list[np.ndarray], ent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Levels and observed flags of entities of equal length, advanced step by step, batched."""
    n_ent = int(ent.max()) + 1
    grid = torch.from_numpy(np.column_stack(tokens)).reshape(n_ent, -1, len(tokens))
    level, known = integ.start(n_ent)
    levels, observed = [], []
    for t in range(grid.shape[1]):
        level, known, seen = integ.advance(level, known, grid[:, t])
        levels.append(level)
        observed.append(seen)
    return torch.stack(levels, 1).reshape(-1).numpy(), torch.stack(observed, 1).reshape(-1).numpy()


def test_smooth_channels_are_found_from_the_data(beijing):
    ent = pd.factorize(beijing["window"])[0]
    found = smooth_columns(beijing[MEASURES], ent)
    assert {"TEMP", "PRES", "DEWP"} <= set(found)  # lag-1 autocorrelation 0.99, hourly steps ~1 % of the range
    assert "RAIN" not in found and "WSPM" not in found  # bursts and gusts are not smooth


def test_levels_and_steps_round_trip_exactly(beijing):
    """Pressure at 0.1 hPa: hourly changes are common values (exact tokens), so in a window whose
    every change is exact the first level (inside its fine sub-bin) plus the integrated steps gives
    the series back up to one constant offset, missing hours kept missing."""
    ent = pd.factorize(beijing["window"])[0]
    values = beijing["PRES"].to_numpy(float).copy()
    values[5:9] = np.nan  # a gap of four hours inside the first window
    codecs, tokens, integ = _codecs_and_integrator(values, ent)
    levels, observed = _integrate(integ, tokens, ent)
    assert (observed == ~np.isnan(values)).all()
    has_step = ~np.isnan(split_levels(values, ent)[1])
    all_exact = pd.Series(~has_step | (tokens[1] < len(codecs[1].exact))).groupby(ent).transform("all").to_numpy()
    assert all_exact.mean() > 0.5
    error = pd.Series(levels - values)[observed & all_exact].groupby(ent[observed & all_exact])
    assert (error.max() - error.min()).max() < 1e-9  # one offset per window: every change reproduced exactly
    width = np.diff(codecs[0].edges).max() / 16 if codecs[0].n_bins else 0.0  # 40 first levels: all exact tokens
    assert error.first().abs().max() <= width / 2 + 0.05 + 1e-9  # inside the first level's fine sub-bin, on the 0.1 grid
    assert np.allclose(levels[observed] * 10, np.round(levels[observed] * 10))  # readings stay at 0.1 hPa


def test_running_level_is_clipped_to_the_observed_range(beijing):
    ent = pd.factorize(beijing["window"])[0]
    values = beijing["TEMP"].to_numpy(float)
    codecs, tokens, integ = _codecs_and_integrator(values, ent)
    up = int(np.argmax(value_table(codecs[1])[0]))  # the largest step token, drawn every hour
    tokens[1] = np.where(np.isnan(split_levels(values, ent)[1]), tokens[1], up)
    levels, _ = _integrate(integ, tokens, ent)
    assert levels.max() == pytest.approx(np.nanmax(values)) and levels.min() >= np.nanmin(values)


def test_model_integrates_smooth_channels_samples_vectorized_and_reproducibly(beijing, tmp_path: Path):
    params = {**get("sequence").test_params, "epochs": 2}
    model = create("sequence", seed=0, **params).fit(beijing, entity="window", time="time", context=["station"])
    assert {"TEMP", "PRES", "DEWP"} <= set(model.delta_)
    out = model.sample(30, seed=1)
    assert out["window"].nunique() == 30 and len(out) == out.groupby("window").size().sum()
    assert list(out.columns) == list(beijing.columns)
    for name in model.delta_:  # integrated levels stay in the observed range
        assert out[name].dropna().between(beijing[name].min(), beijing[name].max()).all(), name
    unchanged = (out.groupby("window")["PRES"].diff() == 0).mean()
    assert unchanged > 0  # an unchanged reading is a step of exactly 0, reproduced as such
    # every real window starts at midnight and reads on the hour: so does every synthetic one
    assert model.start_grid_ == 86400.0
    starts = out.groupby("window", sort=False)["time"].first()
    assert (starts == starts.dt.normalize()).all()
    assert (out["time"] == out["time"].dt.floor("h")).all()
    assert out["time"].between(beijing["time"].min(), beijing["time"].max()).all()
    pd.testing.assert_frame_equal(out, model.sample(30, seed=1))
    assert not out.equals(model.sample(30, seed=2))
    model.save(tmp_path / "m")
    pd.testing.assert_frame_equal(Synthesizer.load(tmp_path / "m").sample(30, seed=1), out)


def test_gaps_that_cannot_fit_the_window_are_not_drawn():
    """ICU charting gaps drawn blindly (uniform over every gap token, 70 steps) would run far past
    the 48-hour window; with the room rule every entity ends inside it, the spikes (60 min) kept exact."""
    from synthkit.datasets import load
    from synthkit.models.sequence_delta import build_integrator

    events, _ = load("icu")
    gaps = events.groupby("RecordID")["Time"].diff().dropna().to_numpy(float)
    codec = ColumnCodec.fit(gaps, "numerical", 50, 16)
    integ = build_integrator({"gap": codec}, "gap", [0.0, 2880.0], 1.0, {})
    n, steps = 200, 70
    generator = torch.Generator().manual_seed(0)
    level, known = integ.start(n, torch.zeros(n))
    for t in range(steps):
        logits = integ.room(0, torch.zeros(n, codec.vocab_size), level, torch.full((n,), steps - 1 - t))
        token = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(1)
        fine = torch.randint(0, 16, (n,), generator=generator)
        level, known, _ = integ.advance(level, known, torch.stack([token, fine], 1))
    assert float(level.max()) <= 2880.0
    assert float(level.median()) > 2000.0  # the room binds at the end, it does not shrink every gap


def test_the_baseline_written_step_by_step_is_the_one_read_from_the_data(beijing):
    """The running mean the network sees while writing (Integrator.running) must be the one it
    was trained on (level_inputs): the entity's mean of its levels before each step, NaN before any."""
    ent = pd.factorize(beijing["window"])[0]
    values = beijing["TEMP"].to_numpy(float)
    codecs, tokens, integ = _codecs_and_integrator(values, ent)
    integ = Integrator(integ.channels, {i: (*value_table(k), k.fine, k.missing_token) for i, k in enumerate(codecs)}, baseline=True)
    levels, _ = _integrate(integ, tokens, ent)
    previous = pd.Series(levels).groupby(ent).shift(1).to_numpy()  # the level before each step
    before, known, baseline = level_inputs([previous], ent)
    expected = pd.Series(previous).groupby(ent).expanding().mean().to_numpy()
    np.testing.assert_allclose(baseline[:, 0], expected)
    assert np.isnan(baseline[ent != np.roll(ent, 1), 0]).all()  # an entity's first step has none yet
    n_ent = int(ent.max()) + 1
    level, seen = torch.zeros(n_ent, 1, dtype=torch.float64), torch.zeros(n_ent, 1, dtype=torch.bool)
    total, count = torch.zeros(n_ent, 1, dtype=torch.float64), torch.zeros(n_ent, 1, dtype=torch.float64)
    written = []
    for t in range(48):
        rows = np.flatnonzero(ent == 0)[0] + t + 48 * np.arange(n_ent)
        level = torch.from_numpy(before[rows]).double()
        seen = torch.from_numpy(known[rows])
        total, count, now = integ.running(total, count, level, seen)
        written.append(now[:, 0].numpy())
    np.testing.assert_allclose(np.stack(written, 1).reshape(-1), baseline[:, 0], atol=1e-9)
    feats = integ.features(torch.from_numpy(before), torch.from_numpy(known), torch.from_numpy(baseline))
    assert feats.shape[1] == integ.n_features == 3 and torch.isfinite(feats).all()
    away = before[:, 0] - baseline[:, 0]  # in the channel's spread: 1 degree here (the channel names none)
    np.testing.assert_allclose(feats[:, 2].numpy(), np.where(known[:, 0] & ~np.isnan(away), np.clip(np.nan_to_num(away), -4, 4), 0),
                               atol=1e-5)


def test_the_clock_unit_of_the_starts_is_found():
    """Starts at midnight sit on a day, on the hour on an hour, otherwise the coarsest unit they share."""
    from synthkit.models.sequence_util import clock_grid, on_grid

    midnight = pd.to_datetime(["2013-03-01", "2014-07-09", "2016-12-31"]).astype("int64").to_numpy() / 1e9
    assert clock_grid(midnight) == 86400.0
    assert clock_grid(midnight + 3600.0 * np.array([0, 5, 23])) == 3600.0
    assert clock_grid(midnight + np.array([0.0, 60.0, 1.0])) == 1.0
    assert clock_grid(midnight + 0.5) == 0.0 and clock_grid(np.array([np.nan])) == 0.0
    np.testing.assert_array_equal(on_grid(midnight + 3600.0 * 13, 86400.0), midnight + 86400.0)
    np.testing.assert_array_equal(on_grid(midnight + 86400.0 - 1e-7, 86400.0, down=True), midnight + 86400.0)
    np.testing.assert_array_equal(on_grid(midnight + 3600.0, 0.0), midnight + 3600.0)


def test_the_grid_of_readings_is_the_coarsest_unit_all_of_them_sit_on():
    """Heart rates in whole beats with one 85.5 among 200: the tenth; a continuous column: none."""
    beats = np.concatenate([np.arange(60.0, 259.0), [85.5], [np.nan]])
    assert grid_of(beats) == 0.1
    assert grid_of(np.arange(60.0, 259.0)) == 1.0
    assert grid_of(np.random.default_rng(0).normal(size=300)) == 0.0
