"""Contract of the ``sequence`` synthesizer on real long-format data (PhysioNet ICU stays, Synthea).

The shared contract (tests/models/test_contract.py) checks it as a sequence model (it takes
entity/time/context and samples entities); this file checks what is specific to it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import ks_2samp

from synthkit.errors import ConfigError, DataError, ModelFileError, NotFittedError
from synthkit.models import SequenceSynthesizer as SequenceProtocol
from synthkit.models import Synthesizer, available, create, get
from synthkit.models import sequence as sequence_module
from synthkit.models.sequence import SequenceSynthesizer
from synthkit.models.sequence_util import gather
from synthkit.profile import profile

COLUMNS = ["RecordID", "Time", "Age", "Gender", "Height", "HR", "MAP", "Temp", "GCS", "Urine"]
CONTEXT = ["Age", "Gender", "Height"]


class PickledPayload:
    """Any non-tensor object: loading it would need pickle."""


@pytest.fixture(scope="module")
def icu() -> pd.DataFrame:
    from synthkit.datasets import load

    events, _ = load("icu")
    ids = events["RecordID"].unique()[:80]
    return events[events["RecordID"].isin(ids)][COLUMNS].reset_index(drop=True)


def _make(**extra) -> SequenceSynthesizer:
    return create("sequence", **{**get("sequence").test_params, **extra})  # type: ignore[return-value]


@pytest.fixture(scope="module")
def fitted(icu) -> SequenceSynthesizer:
    return _make(seed=3).fit(icu, entity="RecordID", time="Time", context=CONTEXT)


def test_registered_as_a_sequence_model():
    assert get("sequence").name == "sequence"
    assert get("sequence").protocol is SequenceProtocol
    assert "sequence" in available(SequenceProtocol) and "sequence" not in available(Synthesizer)


def test_samples_entities_with_columns_dtypes_and_keys(fitted, icu):
    out = fitted.sample(25, seed=1)
    assert list(out.columns) == COLUMNS
    for col in COLUMNS:
        assert out[col].dtype == icu[col].dtype, col
    assert out["RecordID"].nunique() == 25
    assert not set(out["RecordID"]) & set(icu["RecordID"])  # entity ids are new, not real ones
    assert out.groupby("RecordID").size().max() <= icu.groupby("RecordID").size().max()
    assert set(out["Gender"].dropna()) <= set(icu["Gender"].dropna())


def test_time_is_ordered_within_entities_and_context_is_constant(fitted, icu):
    out = fitted.sample(25, seed=2)
    assert (out.groupby("RecordID")["Time"].diff().dropna() >= 0).all()
    assert out["Time"].min() >= icu["Time"].min() and out["Time"].max() <= icu["Time"].max()
    assert (out.groupby("RecordID")[CONTEXT].nunique(dropna=False) <= 1).all().all()
    # missing values survive per measure (GCS is mostly missing, HR mostly present)
    assert out["GCS"].isna().mean() > out["HR"].isna().mean()


def test_seed_reproduces(fitted):
    pd.testing.assert_frame_equal(fitted.sample(10, seed=5), fitted.sample(10, seed=5))
    assert not fitted.sample(10, seed=5).equals(fitted.sample(10, seed=6))


def test_fit_is_seeded(icu):
    small = icu[icu["RecordID"].isin(icu["RecordID"].unique()[:30])]
    a = _make(seed=11, epochs=1).fit(small, entity="RecordID", time="Time", context=CONTEXT).sample(8, seed=0)
    b = _make(seed=11, epochs=1).fit(small, entity="RecordID", time="Time", context=CONTEXT).sample(8, seed=0)
    pd.testing.assert_frame_equal(a, b)


def test_save_load_round_trip_without_pickle(fitted, tmp_path: Path):
    fitted.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert type(loaded) is SequenceSynthesizer
    assert loaded.normal_heads_ == fitted.normal_heads_ and "HR" in fitted.normal_heads_  # with their scores
    pd.testing.assert_frame_equal(loaded.sample(12, seed=9), fitted.sample(12, seed=9))
    import torch

    torch.save({"x": PickledPayload()}, tmp_path / "m" / "weights.pt")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    doc["weights_sha256"] = hashlib.sha256((tmp_path / "m" / "weights.pt").read_bytes()).hexdigest()
    (tmp_path / "m" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="cannot read weights"):
        Synthesizer.load(tmp_path / "m")


def test_model_file_holds_no_real_entity_ids(fitted, icu, tmp_path: Path):
    fitted.save(tmp_path / "m")
    text = (tmp_path / "m" / "model.json").read_text()
    assert not any(f"{rid}" in text for rid in icu["RecordID"].unique()[:20])


def test_keys_from_metadata_and_sample_for(icu):
    metadata = profile(icu)
    table = metadata.table()
    table.sequence_key, table.sequence_index = "RecordID", "Time"
    model = _make(metadata=metadata, context=CONTEXT).fit(icu)
    context = pd.DataFrame({"Age": [30.0, 80.0, 55.0], "Gender": ["F", "M", "F"], "Height": [np.nan, 180.0, 160.0]})
    out = model.sample_for(context, lengths=np.array([3, 0, 7]), starts=np.array([0.0, 0.0, 60.0]), seed=0)
    sizes = out.groupby("RecordID", sort=False).size().tolist()
    assert sizes == [3, 7]
    assert out["Age"].iloc[0] == 30.0 and out["Age"].iloc[-1] == 55.0
    assert out["Time"].iloc[3] == 60


def test_datetime_time_and_end_dates_follow_start():
    """Synthea encounters per patient: START is the time, STOP is learned relative to it."""
    from synthkit.datasets import load

    enc = load("ehr")["encounters"][["PATIENT", "START", "STOP", "ENCOUNTERCLASS", "BASE_ENCOUNTER_COST"]]
    model = _make(epochs=1).fit(enc, entity="PATIENT", time="START")
    out = model.sample(6, seed=0)
    assert out["START"].dtype == enc["START"].dtype and out["STOP"].dtype == enc["STOP"].dtype
    assert (out["STOP"] >= out["START"]).all()
    assert (out.groupby("PATIENT")["START"].diff().dropna() >= pd.Timedelta(0)).all()
    assert out["PATIENT"].str.len().median() == enc["PATIENT"].str.len().median()  # uuid-like fakes


def test_times_stay_in_the_window_without_piling_on_the_last_real_timestamp():
    """Overshooting entities are fitted into the observed window, not clipped onto its real end."""
    from synthkit.datasets import load

    enc = load("ehr")["encounters"][["PATIENT", "START", "STOP", "ENCOUNTERCLASS"]]
    model = _make(epochs=1).fit(enc, entity="PATIENT", time="START")
    out = model.sample(40, seed=0)
    last = enc["START"].max()
    assert out["START"].max() < last  # inside the window, never on its (real) end
    # clipping put a third of the rows on the last real START; now only a start several real
    # patients share (one person's Synthea lives) can be drawn again by the context copula
    assert out["START"].isin(set(enc["START"])).mean() < 0.01 and out["STOP"].isin(set(enc["STOP"])).mean() < 0.01
    assert (out.groupby("PATIENT")["START"].diff().dropna() >= pd.Timedelta(0)).all()
    # the same for numbers: ICU minutes since admission stay within the 48-hour window
    icu, _ = load("icu")
    icu = icu[icu["RecordID"].isin(icu["RecordID"].unique()[:40])][["RecordID", "Time", "HR"]]
    minutes = _make(epochs=1).fit(icu, entity="RecordID", time="Time").sample(30, seed=1)["Time"]
    assert minutes.min() >= icu["Time"].min() and minutes.max() <= icu["Time"].max()


@pytest.mark.parametrize("problem", ["no_entity", "unknown_column", "varying_context", "missing_time", "text_time"])
def test_bad_input_is_a_clear_error(icu, problem):
    data, kwargs = icu.copy(), {"entity": "RecordID", "time": "Time", "context": CONTEXT}
    if problem == "no_entity":
        kwargs["entity"] = None
    elif problem == "unknown_column":
        kwargs["context"] = ["Age", "Weight"]
    elif problem == "varying_context":
        data["Age"] = np.arange(len(data), dtype=float)
    elif problem == "missing_time":
        data.loc[3, "Time"] = np.nan
    else:
        data["Time"] = data["Time"].astype(str) + " min"
    with pytest.raises(DataError, match="entity|Weight|Age|Time"):
        _make().fit(data, **kwargs)


def test_bad_params_and_calls(fitted):
    with pytest.raises(NotFittedError):
        _make().sample(3)
    with pytest.raises(DataError):
        fitted.sample(0)
    with pytest.raises(ConfigError, match="hidden"):
        _make(hidden=0).fit(pd.DataFrame({"e": [1, 1], "t": [0, 1], "x": [1.0, 2.0]}), entity="e", time="t")
    with pytest.raises(ConfigError, match="conditions"):
        fitted.sample(3, conditions={"Age": 50})
    tiny = pd.DataFrame({"e": [1, 1], "t": [0, 1], "x": [1.0, 2.0]})
    for bad in ({"validation_fraction": 0.5}, {"validation_fraction": -0.1}, {"overfit_tolerance": 0}, {"epochs": 0},
                {"tilt_rounds": -1}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            _make(**bad).fit(tiny, entity="e", time="t")


def _random_walks(n_entities: int, seed: int = 0) -> pd.DataFrame:
    """Entities of 6-14 steps of a noisy random walk with a categorical state: enough structure to
    learn, little enough that a small network stops improving on held-out entities."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 15, n_entities)
    entity = np.repeat(np.arange(n_entities), lengths)
    step = np.concatenate([np.arange(k) for k in lengths])
    level = pd.Series(rng.normal(0, 1, len(entity))).groupby(entity).cumsum().to_numpy()
    return pd.DataFrame({"e": entity, "t": step, "x": level, "state": np.where(level > 0, "up", "down")})


def _tiny(**extra) -> SequenceSynthesizer:
    return create("sequence", **{"hidden": 16, "embed": 8, "n_bins": 8, "fine": 4, "seed": 0, **extra})  # type: ignore[return-value]


def test_the_tilt_brings_what_the_network_writes_to_the_training_shares_and_touches_only_output_biases():
    """After two epochs the network's own walks are off in their token shares; the tilt brings them
    to the training steps' (recorded per round in ``history_``), and a user sees it in the walks'
    values. Everything but the heads' output biases is the untilted network's, bit for bit."""
    data = _random_walks(120)
    tilted = _tiny(epochs=2, critic_pool=1).fit(data, entity="e", time="t")
    plain = _tiny(epochs=2, critic_pool=1, tilt_rounds=0).fit(data, entity="e", time="t")
    distances = tilted.history_["tilt"]["total_variation"]
    assert len(distances) == 7 and distances[-1] < 0.5 * distances[0]
    assert "tilt" not in plain.history_
    for seed in (1, 2):  # the walks' values, as a user sees them (KS 0.05 against 0.08 untilted)
        off = {name: ks_2samp(data["x"], m.sample(400, seed=seed)["x"]).statistic for name, m in (("tilted", tilted), ("plain", plain))}
        assert off["tilted"] < 0.75 * off["plain"], off
    untilted, moved = plain.net_.state_dict(), tilted.net_.state_dict()
    biases = {f"heads.{i}.2.bias" for i in range(len(tilted.net_.heads))}
    assert all(torch.equal(moved[k], untilted[k]) for k in untilted if k not in biases)
    assert any(not torch.equal(moved[k], untilted[k]) for k in biases)


def test_held_out_entities_stop_training_once_it_overfits():
    """epochs=None trains until the loss on held-out entities, never trained on, has risen
    overfit_tolerance above its best: a model that memorizes its 150 training walks stops there,
    though not before 30 epochs."""
    model = _tiny(hidden=64, embed=32, overfit_tolerance=0.02, validation_fraction=0.25).fit(_random_walks(200), entity="e", time="t")
    history = model.history_
    assert history["validation_entities"] == 50
    assert len(history["epochs"]) >= 30
    assert history["stop_reason"] == "overfitting"
    losses = [epoch["val_loss"] for epoch in history["epochs"]]
    best = min(losses)
    assert losses[-1] > best * 1.02 and all(v <= best * 1.02 for v in losses[30:-1])
    assert history["epochs"][-1]["loss"] < history["epochs"][history["best_epoch"] - 1]["loss"]  # still fitting its own rows
    assert model.sample(5, seed=0)["e"].nunique() == 5


def test_few_entities_train_the_default_epochs_without_validation():
    """Fewer than 500 entities leave under 50 held out, too few to judge by: every entity trains,
    for 30 epochs."""
    history = _tiny().fit(_random_walks(300), entity="e", time="t").history_
    assert history["validation_entities"] == 0
    assert history["stop_reason"] == "epochs" and len(history["epochs"]) == 30
    assert not any("val_loss" in epoch for epoch in history["epochs"])


@pytest.mark.integration
def test_learns_lengths_marginals_and_autocorrelation(icu):
    """A short real fit: length distribution and marginals close, vitals stay autocorrelated."""
    from synthkit.evaluate.temporal import temporal_metrics

    model = create("sequence", epochs=10, hidden=48, embed=24, batch_size=8, lr=1e-2, seed=0)
    model.fit(icu, entity="RecordID", time="Time", context=CONTEXT)
    out = model.sample(80, seed=0)
    scores = temporal_metrics(icu, out, "RecordID", "Time", ["HR", "MAP", "Temp", "Urine"])
    assert scores["length"]["ks"] < 0.25
    assert scores["marginals"]["HR"]["ks"] < 0.15
    assert scores["autocorrelation"]["HR"]["synthetic_lag1"] > 0.2


@pytest.mark.integration
def test_sdv_par_adapter_same_shape(icu):
    pytest.importorskip("sdv", reason="sdv is in the optional sdv extra")
    from synthkit.errors import ModelError

    small = icu[icu["RecordID"].isin(icu["RecordID"].unique()[:8])][["RecordID", "Time", "Age", "Gender", "HR", "Temp"]]
    small = small[small.groupby("RecordID").cumcount() < 8]  # PAR is slow: short sequences keep this test fast
    model = create("sdv-par", epochs=1).fit(small, entity="RecordID", time="Time", context=["Age", "Gender"])
    out = model.sample(4, seed=0)
    assert list(out.columns) == list(small.columns)
    assert out["RecordID"].nunique() == 4
    assert (out.groupby("RecordID")[["Age", "Gender"]].nunique() <= 1).all().all()
    with pytest.raises(ModelError, match="pickle"):
        model.save("unused")


def _yearly_panel(people: int = 60, seed: int = 0) -> pd.DataFrame:
    """A survey panel as economists hold one: a wave every one or two years, integer years, static sex and
    education, age and a wave counter moving with time, age squared, a wage that persists."""
    rng = np.random.default_rng(seed)
    waves = rng.integers(3, 6, people)
    first = 2000 + 2 * rng.integers(0, 3, people)
    person = np.repeat(np.arange(100, 100 + people), waves)
    step = np.concatenate([np.arange(w) for w in waves])
    gap = np.where(step == 0, 0, rng.integers(1, 3, len(step)))
    year = np.repeat(first, waves) + pd.Series(gap).groupby(np.repeat(np.arange(people), waves)).cumsum().to_numpy()
    born = np.repeat(rng.integers(1950, 1985, people), waves)
    level = np.repeat(rng.normal(2.5, 0.4, people), waves)
    return pd.DataFrame({
        "person": person, "year": year, "sex": np.repeat(rng.choice(["F", "M"], people), waves),
        "educ": np.repeat(rng.integers(9, 18, people), waves), "age": year - born, "wave": step + 1,
        "age_sq": (year - born) ** 2, "wage": level + 0.01 * step + rng.normal(0, 0.05, len(step)),
    })


def test_yearly_panel_keeps_static_and_time_linked_columns(tmp_path: Path):
    panel = _yearly_panel()
    metadata = profile(panel)
    metadata.table().column("year").kind = "categorical"  # how few distinct years profile (wagepan) and fit used to refuse
    model = _make(metadata=metadata, seed=0, epochs=2).fit(panel, entity="person", time="year")
    assert set(model.static_) == {"sex", "educ"}
    assert model.linked_ == {"age": {"axis": "time", "slope": 1.0}, "wave": {"axis": "step", "slope": 1.0}}
    assert model.derived_["age_sq"]["of"] == "age"
    model.save(tmp_path / "m")
    out = Synthesizer.load(tmp_path / "m").sample(40, seed=4)
    pd.testing.assert_frame_equal(out, model.sample(40, seed=4))
    by = out.groupby("person")
    assert (by[["sex", "educ"]].nunique() == 1).all().all()  # constant per synthetic person
    assert ((out["age"] - out["year"]).groupby(out["person"]).nunique() == 1).all()  # one birth year each
    assert (out["wave"] - by.cumcount() == out.groupby("person")["wave"].transform("first")).all()  # +1 a wave
    assert (out["age_sq"] == out["age"] ** 2).all()
    assert out["year"].dtype == panel["year"].dtype and out["age"].dtype == panel["age"].dtype
    assert out["year"].between(panel["year"].min(), panel["year"].max()).all()
    assert set(by["year"].diff().dropna()) <= {1, 2}  # whole, learned gaps
    assert model.net_.pace  # gaps of one and two years: how many steps fill the years left is learned


def test_no_pace_input_where_every_gap_is_the_same():
    """A wave every year (hourly air-quality windows alike): the time left to the window's end is
    then a function of the step's position, so the network gets no pace input."""
    panel = _yearly_panel()
    panel["year"] = 2000 + panel.groupby("person").cumcount()
    model = _make(seed=0, epochs=1).fit(panel, entity="person", time="year")
    assert model.window_ is not None and model.gap_unit_ == 1.0 and not model.net_.pace


def test_codec_repeats_and_fine_positions():
    """ICU weights are carried over a stay: repeats become one token; other values decode inside
    their fine sub-bin (1/16 of a quantile bin) instead of anywhere in the bin."""
    from synthkit.datasets import load
    from synthkit.models.sequence_util import previous_observed
    from synthkit.models.sequence_net import ColumnCodec

    events, _ = load("icu")
    events = events[events["RecordID"].isin(events["RecordID"].unique()[:150])]
    ent = pd.factorize(events["RecordID"])[0]
    for name in ("Weight", "HR"):
        values = events[name].to_numpy(float)
        codec = ColumnCodec.fit(values, "numerical", 16, fine=16, repeat=True)
        previous = previous_observed(values, ent)
        tokens = codec.encode(values, previous)
        repeat = tokens == codec.repeat_token
        assert repeat.sum() == ((values == previous) & (tokens >= len(codec.exact))).sum() > 0
        fine = codec.encode_fine(values, tokens)
        decoded = codec.decode(tokens, np.random.default_rng(0), fine)
        inside = (values >= codec.edges[0]) & (values <= codec.edges[-1])  # the extreme 0.1 % lie beyond
        binned = (tokens >= len(codec.exact)) & (tokens < len(codec.exact) + codec.n_bins) & inside
        width = np.diff(codec.edges)[tokens[binned] - len(codec.exact)]
        assert (np.abs(decoded[binned] - values[binned]) <= width / 16 + 1e-9).all()
        assert np.isnan(decoded[repeat]).all()  # filled from the entity's previous value by the model
        back = ColumnCodec.from_state(json.loads(json.dumps(codec.to_state())))
        assert (back.encode(values, previous) == tokens).all()
    assert repeat.mean() < 0.5  # heart rate moves; weight repeats far more (checked above per column)


def test_normal_heads_learn_a_sparse_reading_that_stays_near_the_last_one():
    """A lab read at 15 % of the steps stays near the patient's own level (real lag-1 by ranks
    0.97): after 15 epochs on 300 patients the plain heads write 0.18 of that persistence and the
    normal heads 0.62, where each carried bin had to learn it alone from the few pairs it is in."""
    from synthkit.evaluate.temporal import lag_autocorrelation

    rng = np.random.default_rng(0)
    n, steps = 300, 30
    level = np.repeat(rng.lognormal(1.0, 0.6, n), steps)
    lab = level * rng.lognormal(0, 0.1, n * steps)
    lab[rng.random(n * steps) > 0.15] = np.nan
    panel = pd.DataFrame({"id": np.repeat(np.arange(n), steps), "t": np.tile(np.arange(steps), n).astype(float),
                          "sex": np.repeat(rng.choice(["F", "M"], n), steps),
                          "HR": np.repeat(rng.normal(80, 10, n), steps) + rng.normal(0, 3, n * steps), "Lab": lab})
    written = {}
    for normal in (False, True):
        model = create("sequence", seed=0, epochs=15, hidden=32, embed=16, n_bins=16, normal_heads=normal, critic_pool=1,
                       tilt_rounds=0).fit(panel, entity="id", time="t", context=["sex"])
        assert bool(model.normal_heads_) is normal
        written[normal] = lag_autocorrelation(model.sample(300, seed=0), "id", "Lab", 1, rank=True)
    assert lag_autocorrelation(panel, "id", "Lab", 1, rank=True) > 0.95
    assert written[True] > written[False] + 0.25


def test_normal_scores_follow_value_order_and_put_a_spike_near_the_centre():
    """A number's tokens get the normal quantile of the middle of their share in value order: a GCS
    of 15 held by 60 % of readings sits near the centre, not in the upper tail its rank would give;
    categories and two-valued numbers get none, and a token no step holds still gets a place."""
    from synthkit.models.sequence_net import ColumnCodec

    rng = np.random.default_rng(0)
    values = np.where(rng.random(5000) < 0.6, 15.0, rng.integers(3, 15, 5000).astype(float))
    codec = ColumnCodec.fit(values, "numerical", 16)
    tokens = codec.encode(values)
    counts = np.bincount(tokens, minlength=codec.vocab_size)
    scores = codec.normal_scores(counts)
    n_values = len(codec.exact) + codec.n_bins
    assert scores.shape == (n_values, 2)
    order = np.argsort(codec.ranks()[:n_values], kind="stable")
    assert (np.diff(scores[order, 0]) > 0).all()  # increasing in value
    fifteen = codec.exact.index(15.0)
    assert 0 < scores[fifteen, 0] < 0.6  # the middle of the top 60 %: z(0.7) = 0.52
    np.testing.assert_allclose(scores[:, 1], scores[:, 0] ** 2 - 1)
    counts[order[0]] = 0
    assert np.isfinite(codec.normal_scores(counts)).all()
    assert ColumnCodec.fit(np.array(["a", "b", "c"] * 10, dtype=object), "categorical", 16).normal_scores(np.ones(3)) is None
    assert ColumnCodec.fit(np.array([0.0, 1.0] * 10), "numerical", 16).normal_scores(np.ones(4)) is None


def test_an_outlier_reading_does_not_stretch_the_outer_bin():
    """The ICU sample holds a temperature of -17.8 degrees (0 F) among readings of 31-40. It is
    encoded into the lowest bin, and that bin no longer runs from -17.8 (draws of 10 degrees): its
    edges are the 0.1 % quantiles, and every draw lands inside them."""
    from synthkit.datasets import load
    from synthkit.models.sequence_net import ColumnCodec

    events, _ = load("icu")
    values = events["Temp"].dropna().to_numpy(float)
    assert values.min() < 0
    codec = ColumnCodec.fit(values, "numerical", 50)
    low, high = codec.edges[0], codec.edges[-1]
    assert 30 < low < 32 and high < values.max()
    assert codec.encode(np.array([values.min()]))[0] == len(codec.exact)  # the lowest bin
    drawn = codec.decode(np.arange(codec.vocab_size), np.random.default_rng(0))
    present = drawn[~np.isnan(drawn)]
    assert len(present) > 40 and (present >= low).all() and (present <= high).all()


def test_an_outer_bin_mostly_empty_of_readings_ends_at_its_last_reading():
    """PhysioNet's pH holds 735 for 7.35 (and 1, 3, 94-96): 8 such readings among 5,000 sit just over
    the 0.1 % tail share, the top quantile interpolates to ~16 between the last ordinary reading
    and 94, and the top bin's draws were pH values of 8-16 that no patient has. It now ends at the
    last reading inside it; a dense tail (log-normal, no gap) keeps its quantile edge."""
    from synthkit.models.sequence_net import TAIL_SHARE, ColumnCodec

    rng = np.random.default_rng(0)
    ordinary = np.round(rng.normal(7.38, 0.07, 5000), 2)
    ph = np.concatenate([ordinary, [1.0, 3.0, 94.0, 95.0, 96.0, 733.0, 734.0, 735.0]])
    assert np.quantile(ph, 1 - TAIL_SHARE) > 8  # where the top edge used to be
    codec = ColumnCodec.fit(ph, "numerical", 50)
    assert codec.edges[-1] == ordinary.max() and codec.edges[0] >= ordinary.min()
    drawn = codec.decode(np.repeat(np.arange(len(codec.exact), len(codec.exact) + codec.n_bins), 50), rng)
    assert drawn.max() <= ordinary.max() and drawn.min() >= ordinary.min()
    assert codec.encode(np.array([735.0, 1.0])).tolist() == [len(codec.exact) + codec.n_bins - 1, len(codec.exact)]
    dense = rng.lognormal(0, 1, 6000)
    edges = ColumnCodec.fit(dense, "numerical", 50).edges
    assert edges[-1] == pytest.approx(np.quantile(dense, 1 - TAIL_SHARE)) and edges[0] == pytest.approx(np.quantile(dense, TAIL_SHARE))


def test_a_far_reading_several_entities_share_becomes_an_exact_token():
    """PhysioNet writes a missing temperature as 0 in ten of 1,000 stays; drawn inside the lowest bin
    (31-34 degrees), it left synthetic temperatures smoother than real ones. A far reading that
    SHARED_OUTLIER_ENTITIES entities hold is now a token of its own; one patient's -17.8 and a reading
    four stays share are not, and without entities nothing is."""
    from synthkit.models.sequence_net import SHARED_OUTLIER_ENTITIES, ColumnCodec

    rng = np.random.default_rng(0)
    stays, per_stay = 400, 20
    entities = np.repeat(np.arange(stays), per_stay)
    temps = np.round(rng.normal(37.1, 0.6, stays * per_stay), 1)
    temps[np.arange(SHARED_OUTLIER_ENTITIES) * per_stay + 3] = 0.0  # one zero in each of 5 stays
    temps[np.arange(SHARED_OUTLIER_ENTITIES - 1) * per_stay + 400] = 45.0  # four stays: too few
    temps[7] = -17.8
    codec = ColumnCodec.fit(temps, "numerical", 30, entities=entities)
    assert 0.0 in codec.exact and -17.8 not in codec.exact and 45.0 not in codec.exact
    assert [v for v in codec.exact if not codec.edges[0] <= v <= codec.edges[-1]] == [0.0]
    token = codec.encode(np.array([0.0, -17.8]))
    assert token[0] == codec.exact.index(0.0) and codec.drawn(token).tolist() == [False, True]
    assert codec.decode(token[:1], rng)[0] == 0.0
    assert codec.edges[0] > 30  # the zeros do not stretch the lowest bin
    assert 0.0 not in ColumnCodec.fit(temps, "numerical", 30).exact
    assert ColumnCodec.from_state(codec.to_state()).exact == codec.exact


def test_same_seed_same_output_at_any_thread_count(fitted):
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = fitted.sample(15, seed=8)
        torch.set_num_threads(2)
        two = fitted.sample(15, seed=8)
    finally:
        torch.set_num_threads(before)
    pd.testing.assert_frame_equal(one, two)


def _stats_net():
    """A network over two step columns: column 0 has values 0-3 (ranks 0, 1/3, 2/3, 1), a repeat
    token 4 and a missing token 5; column 1 values 0-4 only."""
    from synthkit.models.sequence_net import SequenceNet

    return SequenceNet([3], [6, 5], hidden=8, embed=4, missing_tokens=[[5, 4], [-1, -1]],
                       ranks=[[0.0, 1 / 3, 2 / 3, 1.0, 0.0, 0.0], [0.0, 0.25, 0.5, 0.75, 1.0]],
                       repeat_tokens=[4, -1], entity_stats=[0, 1])


def test_entity_stats_count_repeats_as_still_and_skip_missing():
    """Before each step the network reads, per numeric column, the entity's mean value rank so far
    and its mean move: a repeat is an observation that did not move, a missing value is none."""
    import torch

    net = _stats_net()
    steps = torch.tensor([[[3, 0], [4, 1], [5, 1], [0, 0]]])  # column 0: 1.0, repeat, missing, 0.0; column 1: 0, .25, .25, 0
    after = net.carry(steps)
    carried = torch.cat([torch.tensor([[[6, 5]]]), after[:, :-1]], dim=1)
    stats = net.stats_before(steps, carried, after)[0]  # [T, 6 * 2]: means, moves, any move known, share observed, moving average, last - average
    torch.testing.assert_close(stats[:, 0], torch.tensor([0.0, 1.0, 1.0, 1.0]))  # mean rank of column 0
    torch.testing.assert_close(stats[:, 2], torch.tensor([0.0, 0.0, 0.0, 0.0]))  # the repeat moved by 0
    torch.testing.assert_close(stats[:, 4], torch.tensor([0.0, 0.0, 1.0, 1.0]))  # a move is known after the repeat
    torch.testing.assert_close(stats[:, 3], torch.tensor([0.0, 0.0, 2.5, 1.25]))  # column 1: moves .25 then 0, times 10
    torch.testing.assert_close(stats[3, 1], torch.tensor(1.0 / 6))  # column 1's mean rank after 0, .25, .25
    torch.testing.assert_close(stats[:, 6], torch.tensor([0.0, 1.0, 1.0, 2 / 3]))  # column 0 observed at 2 of 3 steps
    torch.testing.assert_close(stats[:, 9], torch.tensor([0.0, 0.0, 0.075, 0.1275]))  # column 1's moving average: 0, +.3 x .25, +.3 x (.25 - .075)
    torch.testing.assert_close(stats[3, 11], torch.tensor(1.225))  # its last value .25 is .1225 above it, times 10


def test_entity_stats_while_writing_equal_those_while_reading():
    """Generation sums the stats step by step; training computes them for whole sequences at once.
    On the sequences generation wrote, both give the same inputs at every step."""
    import torch

    net = _stats_net().eval()
    seen = []
    features = net.stats_features
    net.stats_features = lambda *args: seen.append(features(*args)) or seen[-1]
    tokens = net.generate(torch.tensor([[0], [1], [2], [0], [1]]), torch.full((5,), 9), torch.Generator().manual_seed(4))[0].view(5, 9, -1)
    net.stats_features = features
    after = net.carry(tokens)
    carried = torch.cat([torch.tensor([6, 5]).expand(5, 1, 2), after[:, :-1]], dim=1)
    torch.testing.assert_close(net.stats_before(tokens, carried, after), torch.stack(seen, dim=1))
    assert (tokens[..., 0] == 4).any() and (tokens[..., 0] == 5).any()  # repeats and missing were written and read


def test_values_keep_the_resolution_of_real_readings(fitted, icu):
    """Heart rate and pressures are read in whole units and temperature in tenths: values drawn
    inside a bin are written at the places real readings are (a heart rate of 85.37 would give
    synthetic rows away), in the same shares, and without float tails (0.30000000000000004)."""
    from synthkit.transform.resolution import Resolution

    out = fitted.sample(40, seed=2)
    for name in ("HR", "MAP", "Temp"):
        real = icu[name].dropna().to_numpy(float)
        values = out[name].dropna().to_numpy(float)
        assert len(values) > 50
        places = Resolution.fit(real).places
        finest = max(p for p in places if p is not None)
        assert finest in (0, 1)
        np.testing.assert_array_equal(values, np.round(values, finest))
        assert np.mean(values == np.round(values)) == pytest.approx(np.mean(real == np.round(real)), abs=0.05), name


def _while_writing(fitted, method: str):
    """Sample 12 stays from ``fitted``, recording what its network's ``method`` returned at each step:
    (those outputs stacked over the steps, NaN past an entity's length, where it is no longer
    stepped; whether a step is within its entity's length; the entities' lengths, their starts, the
    drawn tokens, the time axis' share before each step)."""
    import torch

    net = fitted.net_
    seen, calls = [], []
    recorded, generate = getattr(net, method), net.generate
    setattr(net, method, lambda *args: seen.append(recorded(*args)) or seen[-1])
    net.generate = lambda *args, **kw: calls.append((args, generate(*args, **kw))) or calls[-1][1]
    try:
        fitted.sample(12, seed=5)
    finally:
        delattr(net, method)
        del net.generate
    (_, lengths, _, _, start), (flat_tokens, flat_levels, _) = calls[0]
    offsets = torch.cumsum(lengths, 0) - lengths  # generation writes entity after entity, as training reads them
    (tokens, mask), (levels, _) = gather(flat_tokens, offsets, lengths), gather(flat_levels, offsets, lengths)
    within = mask.bool()
    time_before = torch.cat([start.view(-1, 1), levels[:, :-1, 0]], dim=1).unsqueeze(-1)  # the clock before each step
    clock = net.integrator.features(time_before, torch.ones_like(time_before, dtype=torch.bool))[..., 0]
    order = torch.sort(lengths, descending=True, stable=True).indices  # generation steps the longest first
    written = torch.full((len(lengths), len(seen), seen[0].shape[-1]), float("nan"), dtype=seen[0].dtype)
    for t, step in enumerate(seen):  # each step computes only the entities still running
        written[order[: len(step)], t] = step
    assert len(seen) == tokens.shape[1] and len(set(lengths.tolist())) > 1
    assert not written[within].isnan().any() and written[~within].isnan().all()  # ended entities are not stepped
    return written, within, lengths, start, tokens, clock


def test_written_steps_come_entity_after_entity_and_an_empty_entity_has_none(fitted):
    """The network steps the longest entities first and hands its steps back entity after entity.
    An entity of length 0 is stepped once (the network needs a first step) and its step dropped:
    the others' steps are exactly those of the same draw with that entity one step long."""
    from synthkit.models.sequence import LENGTH

    ctx = fitted._draw_context(6, np.random.default_rng(0))
    ctx[LENGTH] = [5.0, 2.0, 1.0, 7.0, 3.0, 4.0]
    one = fitted._write(ctx.copy(), np.random.default_rng(1), on_clock=True)
    ctx.loc[2, LENGTH] = 0.0
    empty = fitted._write(ctx.copy(), np.random.default_rng(1), on_clock=True)
    assert one[0].tolist() == [5, 2, 1, 7, 3, 4] and empty[0].tolist() == [5, 2, 0, 7, 3, 4]
    kept = np.arange(22) != 7  # entity 2's one step comes after entity 0's five and entity 1's two
    for with_one, with_empty in zip(one[1:], empty[1:], strict=True):
        assert len(with_one) == 22 and len(with_empty) == 21
        np.testing.assert_array_equal(with_one[kept], with_empty)


def test_time_since_each_column_was_read_while_writing_equals_while_reading(fitted):
    """With a time axis the entity stats include the time since each column was last read. Generation
    keeps it step by step; training computes it from the time before each step. On the ICU stays
    generation wrote, both give the same inputs at every step."""
    import torch

    net = fitted.net_
    assert net.gap_unit > 0 and net.stats_columns
    written, within, _, _, tokens, clock = _while_writing(fitted, "stats_features")
    after = net.carry(tokens)
    carried = torch.cat([torch.tensor(net.step_vocab).expand(len(tokens), 1, -1), after[:, :-1]], dim=1)
    expected = net.stats_before(tokens, carried, after, clock)
    torch.testing.assert_close(expected[within], written[within])
    since = expected[within][:, 6 * len(net.stats_columns):]
    assert (since > 0).any() and (since == 0).any()  # columns read a while ago, and not yet read or just read


def test_pace_while_writing_equals_while_reading(fitted):
    """With a time window the network also reads the time left to the window's end and the gap the
    entity must average to reach it. Generation computes it step by step from its running clock;
    training from the time before each step and the steps still to come. On the ICU stays generation
    wrote, both give the same inputs at every step, and they say what they claim: at the first step
    the time left is the window's end minus the entity's start, in typical gaps."""
    import torch

    net = fitted.net_
    assert net.pace and fitted.window_ is not None
    written, within, lengths, start, tokens, clock = _while_writing(fitted, "pace_features")
    steps_left = lengths.view(-1, 1) - torch.arange(tokens.shape[1]).view(1, -1)
    torch.testing.assert_close(net.pace_features(clock, steps_left)[within], written[within])
    left = (fitted.window_[1] - start.double()) / net.gap_unit
    torch.testing.assert_close(written[:, 0, 0], (torch.log1p(left) / 6).float(), atol=1e-4, rtol=0)
    assert written[:, 0, 1].std() > 0  # entities of different lengths must keep different paces


def test_a_model_file_from_before_the_pace_input_and_the_normal_heads_loads_without_them(icu, tmp_path: Path):
    """Files saved before the pace input or the normal heads have no "pace" / "normal_heads" key and
    a network without the pace's two inputs and without the heads' normal terms."""
    model = _make(seed=3, pace=False, normal_heads=False).fit(icu, entity="RecordID", time="Time", context=CONTEXT)
    assert not model.net_.pace and not len(model.net_.normal_heads)
    model.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    state, tensors = model._get_state()
    del state["pace"], state["normal_heads"]
    loaded._set_state(state, tensors)
    assert not loaded.net_.pace and not len(loaded.net_.normal_heads)
    pd.testing.assert_frame_equal(loaded.sample(10, seed=1), model.sample(10, seed=1))


def test_the_network_is_half_as_wide_on_few_steps(icu, tmp_path: Path):
    """Under SMALL_STEPS training steps the network is SMALL_WIDTHS wide (on a 182-person panel,
    membership AUC 0.547 -> 0.537 at the same discriminator); from there on WIDTHS (on 250 ICU stays
    the narrow one cost fidelity for nothing), and widths given are kept. A file saved before the
    widths followed the data loads at the widths its parameters name."""
    from synthkit.models.sequence import SMALL_STEPS, SMALL_WIDTHS, WIDTHS

    walks = _random_walks(150)
    assert len(walks) < SMALL_STEPS <= len(icu)
    model = _make(seed=3, hidden=None, embed=None).fit(walks, entity="e", time="t")
    assert (model.hidden_, model.embed_) == SMALL_WIDTHS and model.net_.gru.hidden_size == SMALL_WIDTHS[0]
    wide = _make(seed=3, hidden=None, embed=None).fit(icu, entity="RecordID", time="Time", context=CONTEXT)
    assert (wide.hidden_, wide.embed_) == WIDTHS and wide.net_.gru.hidden_size == WIDTHS[0]
    assert _make(hidden=64, embed=None)._widths(SMALL_STEPS - 1) == (64, SMALL_WIDTHS[1])
    model.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert (loaded.hidden_, loaded.embed_) == SMALL_WIDTHS
    pd.testing.assert_frame_equal(loaded.sample(5, seed=2), model.sample(5, seed=2))
    old = _make(seed=3, hidden=32, embed=16).fit(walks, entity="e", time="t")
    state, tensors = old._get_state()
    del state["widths"]
    old._set_state(state, tensors)
    assert (old.hidden_, old.embed_) == (32, 16)


@pytest.fixture(scope="module")
def icu_300() -> pd.DataFrame:
    from synthkit.datasets import load

    events, _ = load("icu")
    ids = events["RecordID"].unique()[:300]
    return events[events["RecordID"].isin(ids)][COLUMNS].reset_index(drop=True)


@pytest.mark.slow  # 20 epochs of 150 stays (~20 s): the mechanism's fast checks run in test_sequence_critic.py
def test_the_critic_keeps_entities_that_held_out_stays_resemble(icu_300, monkeypatch):
    """150 stays fitted, 150 held out: the entities the critic keeps are harder to tell from the held-out
    stays than the network's own draws (closer summaries)."""
    from synthkit.transform.entity_summary import entity_features

    monkeypatch.setattr(sequence_module, "MIN_CRITIC_ENTITIES", 100)  # critics on a small, fast fit

    ids = icu_300["RecordID"].unique()
    train, held = (icu_300[icu_300["RecordID"].isin(part)].reset_index(drop=True) for part in (ids[:150], ids[150:]))
    model = _make(seed=0, epochs=20).fit(train, entity="RecordID", time="Time", context=CONTEXT)
    assert model.critic_ is not None and model.critic_pool == 32 and len(model.critic_.critics) == model.critic_rounds == 5
    numeric = [c for c in COLUMNS[2:] if pd.api.types.is_numeric_dtype(train[c])]
    chosen = model.sample(150, seed=1)
    plain = model._draw(150, np.random.default_rng(1))
    assert chosen["RecordID"].nunique() == 150 and list(chosen.columns) == COLUMNS
    real = entity_features(held, "RecordID", "Time", numeric).median()
    moves = [f"{m}_{kind}" for m in ("HR", "MAP", "Temp", "GCS", "Urine") for kind in ("std", "step")]

    def gap(frame: pd.DataFrame) -> pd.Series:  # how far a typical entity moves, against a typical held-out stay
        return ((entity_features(frame, "RecordID", "Time", numeric).median() - real).abs() / real.abs())[moves]

    ratio = gap(chosen) / gap(plain)  # 20 epochs of a small network: every series moves too much
    assert (ratio < 1).sum() >= 8 and ratio.median() < 0.92, ratio


def test_the_critic_repeats_for_a_seed_and_survives_save_and_load(icu_300, tmp_path: Path, monkeypatch):
    ids = icu_300["RecordID"].unique()[:120]
    train = icu_300[icu_300["RecordID"].isin(ids)].reset_index(drop=True)
    # the later rounds choose 6 of 192 candidates at a time, as sampling would
    monkeypatch.setattr(sequence_module, "CHOICE_CANDIDATES", 200)
    monkeypatch.setattr(sequence_module, "MIN_CRITIC_ENTITIES", 100)  # critics on a small, fast fit
    drawn: list[int] = []
    draw = SequenceSynthesizer._draw
    monkeypatch.setattr(SequenceSynthesizer, "_draw", lambda self, n, rng: drawn.append(n) or draw(self, n, rng))
    model = _make(seed=0).fit(train, entity="RecordID", time="Time", context=CONTEXT)
    # round 1 reads a plain draw of 120; rounds 2 to 5 choose from one pool as large as sampling's
    assert drawn == [120] + [6 * 32] * 20
    monkeypatch.setattr(SequenceSynthesizer, "_draw", draw)
    assert model.critic_ is not None and model.history_["critic"]["entities_a_side"] == 120
    assert len(model.critic_.critics) == len(model.history_["critic"]["calibration_slopes"]) == model.critic_rounds == 5
    out = model.sample(40, seed=7)
    assert out["RecordID"].nunique() == 40 and list(out.columns) == COLUMNS
    pd.testing.assert_frame_equal(model.sample(40, seed=7), out)
    assert model.sample(1, seed=0)["RecordID"].nunique() == 1  # a pool of 32, fewer than the length strata
    monkeypatch.setattr(sequence_module, "CHOICE_CANDIDATES", 15 * 32)  # chosen 15, 15 and 10 at a time, then renumbered
    chunked = model.sample(40, seed=7)
    starts = chunked["RecordID"] != chunked["RecordID"].shift()
    assert chunked["RecordID"].nunique() == starts.sum() == 40 and list(chunked.columns) == COLUMNS
    assert chunked.groupby("RecordID")["Time"].apply(lambda t: t.is_monotonic_increasing).all()
    pd.testing.assert_frame_equal(model.sample(40, seed=7), chunked)
    monkeypatch.undo()
    model.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.critic_ is not None and len(loaded.critic_.critics) == 5
    pd.testing.assert_frame_equal(loaded.sample(40, seed=7), model.sample(40, seed=7))
    # a file saved before rounds held one critic under "critic" and tensors "critic.*": it still loads
    state, tensors = model._get_state()
    first_doc = state.pop("critics")[0]
    old = {name.replace("critic0.", "critic.", 1): t for name, t in tensors.items() if not name.startswith(("critic1.", "critic2."))}
    loaded._set_state({**state, "critic": first_doc}, old)
    assert len(loaded.critic_.critics) == 1
    summaries = model._summaries(out)
    np.testing.assert_array_equal(loaded.critic_.critics[0].log_odds(summaries), model.critic_.critics[0].log_odds(summaries))


def test_critic_rounds_wait_for_the_time_budget(icu_300, caplog, monkeypatch):
    """``max_minutes`` bounds the whole fit: no critic round that draws starts once it is spent. A
    budget spent by the network leaves no critic (sampling is the network alone); one spent after a
    round keeps it; one spent after the later rounds' pool is drawn still lets them use it."""
    ids = icu_300["RecordID"].unique()[:120]
    train = icu_300[icu_300["RecordID"].isin(ids)].reset_index(drop=True)
    monkeypatch.setattr(sequence_module, "MIN_CRITIC_ENTITIES", 100)  # critics on a small, fast fit
    with caplog.at_level(logging.INFO, logger="synthkit.models.sequence"):
        model = _make(seed=0, max_minutes=1e-6, critic_rounds=3).fit(train, entity="RecordID", time="Time", context=CONTEXT)
    assert model.critic_ is None and "max_minutes spent; 0 critic round(s) of 3" in caplog.text
    assert "tilt" not in model.history_ and "max_minutes spent; no tilt" in caplog.text
    pd.testing.assert_frame_equal(model.sample(20, seed=2), model._draw(20, model._rng(2)))
    # the budget is asked before the tilt and before each critic round: spent before round 2
    answers = iter([False, False, True])
    monkeypatch.setattr(SequenceSynthesizer, "_spent", lambda self, started: next(answers))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="synthkit.models.sequence"):
        model = _make(seed=0, max_minutes=1.0, critic_rounds=3).fit(train, entity="RecordID", time="Time", context=CONTEXT)
    assert len(model.critic_.critics) == 1 and "max_minutes spent; 1 critic round(s) of 3" in caplog.text
    assert model.history_["tilt"]["rounds"] == 6
    # spent once round 2 has drawn the pool: round 3 reuses it (seconds) and runs
    answers = iter([False, False, False] + [True] * 10)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="synthkit.models.sequence"):
        model = _make(seed=0, max_minutes=1.0, critic_rounds=3).fit(train, entity="RecordID", time="Time", context=CONTEXT)
    assert len(model.critic_.critics) == 3 and "max_minutes spent" not in caplog.text
    monkeypatch.undo()
    # the network timed a draw of the tilt's size after its second epoch and left the draws after
    # it what they take at that pace: 7 tilt draws of 4 per entity, round 1's 120, the pool's 32 × 120,
    # and the three rounds' trees, timed on a critic fitted on the two halves of that draw
    budget = model.history_["budget"]
    assert budget["timed_entities"] == 4 * len(ids)
    entities = 7 * 4 * len(ids) + len(ids) + 32 * len(ids)
    assert budget["predicted_critic_seconds"] > 0
    assert budget["predicted_after_network_seconds"] == pytest.approx(
        budget["ms_per_entity"] * entities / 1000 + budget["predicted_critic_seconds"], abs=0.15)
    assert budget["network_seconds_from_fit_start"] == pytest.approx(60 - budget["predicted_after_network_seconds"], abs=0.1)
    assert budget["after_network_seconds"] > 0 and model.history_["stop_reason"] == "epochs"
    with pytest.raises(ConfigError, match="critic_rounds"):
        _make(critic_rounds=0).fit(train, entity="RecordID", time="Time", context=CONTEXT)


def test_the_critics_trees_are_timed_on_the_timed_draw_and_scaled_to_the_rounds(monkeypatch):
    """One critic fitted on the two halves of the timed draw's summaries times the trees; the
    rounds after the network fit as many, on the training entities a side: 2 s on 200 a side is
    3 rounds × 2 s × 1,000 / 200 on 1,000. No critics to come, or too few entities to time them
    on, cost nothing."""
    summaries = pd.DataFrame(np.random.default_rng(0).normal(size=(400, 6)), columns=[f"f{i}" for i in range(6)])
    clock = iter([10.0, 12.0])
    monkeypatch.setattr(sequence_module, "monotonic", lambda: next(clock))
    model = _make(seed=0, critic_rounds=3)
    assert model._critic_seconds(summaries, 1000) == pytest.approx(3 * 2.0 * 1000 / 200)
    assert model._critic_seconds(summaries, sequence_module.MIN_CRITIC_ENTITIES - 1) == 0.0
    assert model._critic_seconds(summaries.iloc[:300], 1000) == 0.0
    assert _make(seed=0, critic_pool=1)._critic_seconds(summaries, 1000) == 0.0


def test_the_network_leaves_the_draws_after_it_at_most_half_the_budget(icu_300, monkeypatch):
    """Where the timed draw predicts the tilt's and the critics' draws would take more than half of
    ``max_minutes``, the network still trains until half of it is gone (the pool is then what the
    budget leaves out), and the stop falls inside training: the rest of its epochs are not run."""
    ids = icu_300["RecordID"].unique()[:120]
    train = icu_300[icu_300["RecordID"].isin(ids)].reset_index(drop=True)
    monkeypatch.setattr(sequence_module, "MIN_CRITIC_ENTITIES", 100)
    monkeypatch.setattr(SequenceSynthesizer, "_after_network_entities", lambda self, n: 10**9)
    model = _make(seed=0, max_minutes=0.2, epochs=500, critic_rounds=1, tilt_rounds=1).fit(
        train, entity="RecordID", time="Time", context=CONTEXT)
    assert model.history_["budget"]["network_seconds_from_fit_start"] == pytest.approx(6.0)
    assert model.history_["stop_reason"] == "time" and len(model.history_["epochs"]) < 500


def test_fewer_entities_than_the_critic_minimum_are_the_network_alone(icu_300, caplog):
    """Below MIN_CRITIC_ENTITIES (as below the validation set's size) no critic reads the training
    entities: on small panels the critics cost membership AUC the network alone does not."""
    ids = icu_300["RecordID"].unique()[:120]
    train = icu_300[icu_300["RecordID"].isin(ids)].reset_index(drop=True)
    with caplog.at_level(logging.INFO, logger="synthkit.models.sequence"):
        model = _make(seed=0).fit(train, entity="RecordID", time="Time", context=CONTEXT)
    assert model.critic_ is None and "no critic under 500 training entities (120)" in caplog.text
    pd.testing.assert_frame_equal(model.sample(30, seed=2), model._draw(30, model._rng(2)))


def test_a_pool_of_one_is_the_network_alone(icu_300):
    ids = icu_300["RecordID"].unique()[:120]
    train = icu_300[icu_300["RecordID"].isin(ids)].reset_index(drop=True)
    model = _make(seed=0, critic_pool=1).fit(train, entity="RecordID", time="Time", context=CONTEXT)
    assert model.critic_ is None
    pd.testing.assert_frame_equal(model.sample(30, seed=2), model._draw(30, model._rng(2)))
    with pytest.raises(ConfigError, match="critic_pool"):
        _make(critic_pool=0).fit(train, entity="RecordID", time="Time", context=CONTEXT)
