"""Distributed training on a real local Ray cluster (ray.init(num_cpus=2), started here, never joined).

Tolerance (stated): 2-worker training reaches a best validation loss within 5 % of 1-worker training
on the same rows and budget (same global batch, same epochs). Measured on these 2,000 Adult rows:
arm within 0.5 %; on 600 rows with small nets (vae, flow: 5 % + 0.05 nats; gan, which has no
validation loss: its last epoch's mean critic and generator scores within 0.15) flow 21.93 vs 21.92,
gan critic -0.087 vs -0.131, generator -0.207 vs -0.185 (see the assertion messages for a run's values).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

ray = pytest.importorskip("ray", reason="distributed training needs the optional ray extra (synthkit[ray])")

from synthkit.engine import EngineSpec, create_engine  # noqa: E402
from synthkit.engine.ray_engine import import_ray  # noqa: E402
from synthkit.engine.train import fit_on_ray  # noqa: E402
from synthkit.models.arm import small_table_schedule  # noqa: E402
from synthkit.models.registry import create, get  # noqa: E402
from synthkit.profile import profile  # noqa: E402

pytestmark = pytest.mark.ray

TOLERANCE = 0.05
GAN_TOLERANCE = 0.15  # WGAN critic/generator scores (near 0) of 1 and 2 workers; measured 0.02-0.04 apart
ARM = {"epochs": 4, "hidden": 32, "embedding_dim": 8, "n_bins": 16, "batch_size": 256, "min_steps": 0}


@pytest.fixture(scope="module")
def cluster() -> Any:
    """A private local cluster for this module (other engineers' clusters on the machine are never joined)."""
    owned = not ray.is_initialized()
    if owned:
        import_ray()  # as the engine does before it starts a cluster: Ray's usage statistics off
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if owned:
        ray.shutdown()


@pytest.fixture(scope="module")
def fitted(cluster: Any, adult_small: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """arm fitted with 1 and 2 workers (cached: several tests read the same fits)."""
    return {}


def _fit(name: str, data: pd.DataFrame, workers: int, storage: Path | None, **kwargs: Any) -> Any:
    cls = get(name)
    params = {**(ARM if name == "arm" else cls.test_params), **kwargs.pop("params", {})}
    eng = create_engine(EngineSpec(kind="ray", num_workers=workers, cpus_per_worker=0.5))
    return fit_on_ray(cls(metadata=profile(data), **params), data, eng, storage_path=storage, **kwargs)


def _arm(fitted: dict[str, Any], data: pd.DataFrame, workers: int, storage: Path) -> Any:
    if workers not in fitted:
        fitted[workers] = _fit("arm", data, workers, storage)
    return fitted[workers]


def _synthkit_temporary_folders() -> set[Path]:
    """Folders synthkit's training makes in the temporary directory: every epoch's checkpoint before Ray
    copies it into storage, and the default storage itself."""
    temp = Path(tempfile.gettempdir())
    return set(temp.glob("synthkit-ckpt-*")) | set(temp.glob("synthkit-train-*"))


def _best(model: Any) -> float:
    history = model.fit_info_ if hasattr(model, "fit_info_") else {}
    if history.get("best_validation_nll") is not None:
        return float(history["best_validation_nll"])
    return float(min(e["val_loss"] for e in model.loss_history_ if "val_loss" in e))


def test_two_workers_reach_the_validation_loss_of_one(fitted: dict[str, Any], adult_small: pd.DataFrame,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    storage = tmp_path_factory.mktemp("ckpt")
    before = _synthkit_temporary_folders()
    fitted[1] = _fit("arm", adult_small, 1, None)  # no storage given: Ray Train's goes in a temporary folder
    assert _synthkit_temporary_folders() == before, "a fit left checkpoint folders in the temporary directory"
    one, two = fitted[1], _arm(fitted, adult_small, 2, storage)
    assert one.fit_info_["workers"] == 1 and two.fit_info_["workers"] == 2
    assert one.fit_info_["epochs"] == two.fit_info_["epochs"] == ARM["epochs"]
    a, b = _best(one), _best(two)
    assert abs(a - b) <= TOLERANCE * a, f"best validation NLL: 1 worker {a:.4f}, 2 workers {b:.4f}"
    assert a < 25.0  # it learned: an untrained arm scores ~30 nats per row on these columns


def test_killed_worker_resumes_from_checkpoint_with_the_same_weights(
        fitted: dict[str, Any], adult_small: pd.DataFrame, tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """SIGKILL of rank 1 in the middle of epoch 2: Ray restarts the workers from the epoch-1
    checkpoint and the run finishes with exactly the weights of an uninterrupted run (epochs are
    reseeded from (seed, epoch, rank), shards are fixed by row content)."""
    marker = tmp_path / "killed"
    resumed = _fit("arm", adult_small, 2, tmp_path, fail_at={"epoch": 1, "step": 2, "rank": 1, "marker": str(marker)})
    assert marker.read_text() == "killed"
    assert resumed.fit_info_["epochs"] == ARM["epochs"]
    uninterrupted = _arm(fitted, adult_small, 2, tmp_path_factory.mktemp("ckpt"))
    for key, value in uninterrupted.net_.state_dict().items():
        assert torch.equal(resumed.net_.state_dict()[key], value), key


def _load_without_ray(folder: Path) -> dict[str, Any]:
    """Load the model folder in a fresh interpreter where ``import ray`` fails, sample 200 rows; what it saw."""
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["ray"] = None  # any import of ray now fails
        import synthkit.models
        model = synthkit.models.load({str(folder)!r})
        rows = model.sample(200, seed=1)
        guarantee = getattr(model, "privacy_guarantee_", None) or {{}}
        print(json.dumps({{"rows": len(rows), "columns": list(rows.columns), "epsilon_spent": guarantee.get("epsilon_spent"),
                           "ray": "ray" in sys.modules and sys.modules["ray"] is not None}}))
    """)
    env = {**os.environ, "SYNTHKIT_QUIET": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_trained_file_loads_and_samples_without_ray(fitted: dict[str, Any], adult_small: pd.DataFrame,
                                                    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    model = _arm(fitted, adult_small, 2, tmp_path_factory.mktemp("ckpt"))
    model.save(tmp_path / "model")
    result = _load_without_ray(tmp_path / "model")
    assert result == {"rows": 200, "columns": list(adult_small.columns), "epsilon_spent": None, "ray": False}
    local = model.sample(200, seed=1)
    assert set(local["workclass"].dropna()) <= set(adult_small["workclass"].dropna())


# small nets on 600 rows, 2 epochs, so they run in `make test`: a fit costs mostly Ray Train's start-up (workers,
# process group, Ray Data pipelines), ~10-40 s on 2 shared cores
MODELS = {"vae": {"patience": 3, "epochs": 2, "batch_size": 100, "latent_dim": 8, "encoder_dims": (16,),
                  "decoder_dims": (16,)},
          "flow": {"epochs": 2, "n_layers": 2, "hidden": 16, "n_quantiles": 51, "batch_size": 100},
          "gan": {"epochs": 2, "batch_size": 100, "embedding_dim": 8, "generator_dims": (16,), "critic_dims": (16,)}}


@pytest.fixture(scope="module")
def adult_600(adult_small: pd.DataFrame) -> pd.DataFrame:
    return adult_small.sample(600, random_state=1).reset_index(drop=True)


def _epochs(model: Any) -> int:
    return int(model.fit_info_["epochs"]) if hasattr(model, "fit_info_") else len(model.loss_history_)


def _last(model: Any, key: str) -> float:
    return float(model.loss_history_[-1][key])


# flow runs in `make test`, vae and gan (~40 s each, CI is near its 25 minutes) with `-m slow`. The plain loop
# they share runs for flow here and for arm below; the VAE network on two workers runs through the DP loop
# (test_dp_vae_on_two_workers_spends_exactly_the_in_process_budget). gan's own steps on Ray run only with -m slow.
@pytest.mark.parametrize("name", [name if name == "flow" else pytest.param(name, marks=pytest.mark.slow) for name in MODELS])
def test_each_neural_model_trains_on_two_workers_like_on_one(cluster: Any, adult_600: pd.DataFrame, tmp_path: Path,
                                                            name: str) -> None:
    params = MODELS[name]
    one = _fit(name, adult_600, 1, tmp_path, params=params)
    two = _fit(name, adult_600, 2, tmp_path, params=params)
    assert _epochs(one) == _epochs(two) == params["epochs"]
    if name == "gan":  # no validation loss: the last epoch's mean critic and generator losses (same steps, same batch)
        for key in ("loss_d", "loss_g"):
            a, b = _last(one, key), _last(two, key)
            assert np.isfinite([a, b]).all() and abs(a - b) <= GAN_TOLERANCE, f"gan {key}: 1 worker {a:.4f}, 2 workers {b:.4f}"
    else:
        a, b = _best(one), _best(two)
        assert abs(a - b) <= TOLERANCE * abs(a) + 0.05, f"{name}: 1 worker {a:.4f}, 2 workers {b:.4f}"
    rows = two.sample(300, seed=0)
    assert list(rows.columns) == list(adult_600.columns) and len(rows) == 300


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine: the GPU path cannot run here")
def test_gpu_workers_train_on_their_gpu(cluster: Any, adult_small: pd.DataFrame, tmp_path: Path) -> None:
    eng = create_engine(EngineSpec(kind="ray", num_workers=1, cpus_per_worker=0.5, gpus_per_worker=1))
    model = fit_on_ray(get("arm")(metadata=profile(adult_small), **ARM), adult_small, eng, storage_path=tmp_path)
    assert model.fit_info_["epochs"] == ARM["epochs"]


@pytest.mark.slow  # one more 2-worker fit (~50 s on 2 shared cores); the schedule itself is checked without Ray in test_train_stats
def test_arm_on_ray_follows_the_in_memory_small_table_schedule(cluster: Any, adult_600: pd.DataFrame, tmp_path: Path) -> None:
    """``epochs=None`` (arm's default) grows the epoch cap to fit ``min_steps`` (it used to fail in the
    workers), the batch and learning rate shrink as in process, and early stopping waits for ``min_steps``."""
    params = {"epochs": None, "min_steps": 40, "patience": 1, "learning_rate": 0.1}
    model = _fit("arm", adult_600, 2, tmp_path, params=params)
    info = model.fit_info_
    n_train = len(adult_600) - int(len(adult_600) * model.validation_fraction)
    batch, learning_rate, cap = small_table_schedule(n_train, model.batch_size, 0.1, None, 40)
    assert (info["batch_size"], info["learning_rate"]) == (batch, pytest.approx(learning_rate)) and batch < model.batch_size
    assert info["stop_reason"] == "early_stopping" and info["steps"] >= 40 and info["epochs"] < cap
    # a small table starts from the tree of its columns, found on the sketch's row sample (every row here): the in-memory one
    in_memory = create("arm", metadata=profile(adult_600), seed=0, epochs=1, min_steps=0).fit(adult_600)
    assert model.order_ == in_memory.order_ and model.net_.prior_parents == in_memory.net_.prior_parents
    assert info["tree_prior"] == in_memory.fit_info_["tree_prior"] and info["tree_prior"]


@pytest.mark.slow  # two more 2-worker fits (~50-90 s): kept out of make test for the CI budget (~22.5 min with it)
def test_early_stopping_and_time_budget_hold_across_workers(cluster: Any, adult_600: pd.DataFrame, tmp_path: Path) -> None:
    """Both workers see the same all-reduced validation loss and the same time flag, so they stop together."""
    stopped = _fit("arm", adult_600, 2, tmp_path, params={"epochs": 40, "patience": 1, "learning_rate": 0.1})
    assert stopped.fit_info_["stop_reason"] == "early_stopping" and stopped.fit_info_["epochs"] < 40
    timed = _fit("arm", adult_600, 2, tmp_path, params={"epochs": 40, "max_minutes": 0.0005})
    assert timed.fit_info_["stop_reason"] == "time" and timed.fit_info_["epochs"] == 1


# -- differential privacy ----------------------------------------------------------------------------
DP = {"epsilon": 3.0, "epochs": 2, "hidden": 16, "latent": 4, "batch_size": 200, "n_bins": 8}


def _dp(fitted: dict[str, Any], data: pd.DataFrame, storage: Path) -> Any:
    """dp-vae on 2 workers, uninterrupted (cached for the DP tests)."""
    if "dp" not in fitted:
        fitted["dp"] = _fit("dp-vae", data, 2, storage, params=DP)
    return fitted["dp"]


def test_dp_vae_on_two_workers_spends_exactly_the_in_process_budget(fitted: dict[str, Any], adult_small: pd.DataFrame,
                                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    """Domains released from counts merged over the workers equal the in-process release (same counts,
    same seeded noise); σ, q and the steps come from the same plan, so the guarantee is the same and
    spends the budget to the accountant's calibration tolerance."""
    ray_model = _dp(fitted, adult_small, tmp_path_factory.mktemp("ckpt"))
    local = get("dp-vae")(metadata=profile(adult_small), **DP).fit(adult_small)
    assert ray_model.discretizer_.to_state() == local.discretizer_.to_state()
    remote, here = ray_model.privacy_guarantee_, local.privacy_guarantee_
    assert remote["sgd_history"] == here["sgd_history"] and remote["sgd_history"][0][2] == ray_model.steps_ == 20
    assert remote["epsilon_spent"] == pytest.approx(here["epsilon_spent"], rel=1e-12)
    assert 0.98 * DP["epsilon"] <= remote["epsilon_spent"] <= DP["epsilon"], remote
    rows = ray_model.sample(500, seed=0)
    assert list(rows.columns) == list(adult_small.columns)
    share = (rows["income"] == ">50K").mean()  # it learned the marginal through the noise (real: 0.24)
    assert 0.05 < share < 0.5, share


def test_dp_run_killed_mid_training_spends_the_epsilon_of_an_uninterrupted_run(
        fitted: dict[str, Any], adult_small: pd.DataFrame, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """SIGKILL of rank 1 at step 2 of the second window: the group restarts from the first window's
    checkpoint, replays the window with the same Poisson batches and noise, and counts each step once."""
    marker = tmp_path / "killed"
    resumed = _fit("dp-vae", adult_small, 2, tmp_path, params=DP,
                   fail_at={"epoch": 1, "step": 2, "rank": 1, "marker": str(marker)})
    assert marker.read_text() == "killed"
    uninterrupted = _dp(fitted, adult_small, tmp_path_factory.mktemp("ckpt"))
    assert resumed.steps_ == uninterrupted.steps_ == 20
    assert resumed.privacy_guarantee_ == uninterrupted.privacy_guarantee_
    for key, value in uninterrupted.decoder_.state_dict().items():
        assert torch.equal(resumed.decoder_.state_dict()[key], value), key


def test_dp_model_file_loads_and_samples_without_ray(fitted: dict[str, Any], adult_small: pd.DataFrame, tmp_path: Path,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    model = _dp(fitted, adult_small, tmp_path_factory.mktemp("ckpt"))
    model.save(tmp_path / "model")
    result = _load_without_ray(tmp_path / "model")
    assert result == {"rows": 200, "columns": list(adult_small.columns), "ray": False,
                      "epsilon_spent": model.privacy_guarantee_["epsilon_spent"]}


@pytest.mark.slow  # one more 2-worker fit (~1-2 min on 2 shared cores)
def test_dp_gan_on_two_workers_spends_the_in_process_budget(cluster: Any, adult_small: pd.DataFrame, tmp_path: Path) -> None:
    """gan with epsilon: the critic is DP-trained across the workers (real and generated rows clipped
    one by one), the generator follows each step identically on every worker."""
    params = {"epsilon": 3.0, "epochs": 2, "batch_size": 200, "n_bins": 8, "embedding_dim": 8,
              "generator_dims": (16,), "critic_dims": (16,)}
    ray_model = _fit("gan", adult_small, 2, tmp_path, params=params)
    local = get("gan")(metadata=profile(adult_small), **params).fit(adult_small)
    assert ray_model.discretizer_.to_state() == local.discretizer_.to_state()
    assert ray_model.privacy_guarantee_["sgd_history"] == local.privacy_guarantee_["sgd_history"]
    assert ray_model.privacy_guarantee_["epsilon_spent"] == pytest.approx(local.privacy_guarantee_["epsilon_spent"], rel=1e-12)
    rows = ray_model.sample(300, seed=0)
    assert list(rows.columns) == list(adult_small.columns) and rows["age"].between(0, 200).all()


@pytest.mark.slow  # a whole pipeline (profile, Ray Train, Ray sampling, evaluation): ~1-2 min on 2 shared cores
def test_pipeline_on_ray_with_epsilon_trains_on_ray_and_reports_the_guarantee(cluster: Any, adult_small: pd.DataFrame,
                                                                              tmp_path: Path) -> None:
    """engine: ray + a DP model: Ray Train over the training rows, and metrics.json carries the guarantee."""
    import yaml

    from synthkit.pipeline import run

    adult_small.to_parquet(tmp_path / "adult.parquet")
    cfg = {"name": "dp-ray", "output_dir": str(tmp_path / "out"), "source": {"path": str(tmp_path / "adult.parquet")},
           "model": {"name": "dp-vae", "params": DP}, "sample": {"rows": 500}, "report": {"enabled": False},
           "evaluate": {"max_rows": 300, "families": ["fidelity"]},
           "engine": {"kind": "ray", "num_workers": 2, "cpus_per_worker": 0.5, "sample_rows": 500}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    result = run(tmp_path / "run.yaml")
    assert result.status == "ok", result.to_dict()
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    engine = json.loads((tmp_path / "out" / "engine.json").read_text())
    assert engine["fit"]["method"] == "Ray Train over all training rows" and engine["fit"]["workers"] == 2
    dp = metrics["privacy"]["dp"]
    assert dp["epsilon"] == DP["epsilon"] and 0.98 * DP["epsilon"] <= dp["epsilon_spent"] <= DP["epsilon"]
    assert dp["mechanism"] == "dp-sgd" and "differential privacy" in dp["statement"]
