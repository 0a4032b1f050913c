"""The one schema of ``metrics.json``: pydantic models the evaluator, the pipeline and the report share.

``metrics.json`` is read by people, gates, the report and other programs, so its layout is a
contract, not a by-product: every key is declared here with its type and a description, strictly
(no coercion of ``"0.5"`` into 0.5, no undeclared key). ``docs/metrics.schema.json`` is generated
from these models and ``docs/metrics.md`` carries a generated key reference; tests fail when either
is stale (regenerate with ``python -m synthkit.evaluate.schema``).

Validation runs on the JSON text (what is written is what is checked), and never rewrites the
dict: ``metrics.json`` stays byte-identical whether or not it was validated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from synthkit.errors import EvaluationError, SynthkitError
from synthkit.utils.atomic import json_default

__all__ = ["SCHEMA_VERSION", "MetricsFile", "json_schema", "layout", "validate_metrics"]

SCHEMA_VERSION = 1

Num = float | None
Interval = tuple[float | None, float | None] | None
Counts = dict[str, int]


def _f(description: str, required: bool = False) -> Any:
    """A field with a description; optional fields default to absent (``None``)."""
    return Field(..., description=description) if required else Field(None, description=description)


def _req(description: str) -> Any:
    return _f(description, required=True)


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


_SKIPPED = "{metric: reason} for every metric that could not be computed; {family: reason} when the whole family was skipped"


# -- fidelity ------------------------------------------------------------------------------------


class ColumnScore(_Model):
    metric: Literal["KSComplement", "TVComplement"] = _req("SDMetrics shape metric used for this column's kind")
    score: Num = _req("1 - KS statistic (numerical/datetime) or 1 - total variation distance (categorical/boolean)")
    wasserstein: Num = _req("W1 distance on the real q01-q99 range scale; TV distance for categories")
    jensen_shannon: Num = _req("base-2 Jensen-Shannon distance in [0, 1] (continuous: 20 real-quantile bins)")


class PairScore(_Model):
    metric: Literal["CorrelationSimilarity", "ContingencySimilarity"] = _req("SDMetrics pair metric used")
    score: Num = _req("1 - |rho_real - rho_syn| / 2, or 1 - TV distance of the joint shares")
    real: Num = _req("Pearson rho (two continuous columns) or Cramer's V of the real data")
    synthetic: Num = _req("the same statistic on the synthetic data")
    meets_threshold: bool = _req("the real data shows a relationship (|rho| > 0.5 or Cramer's V > 0.3)")


class Fidelity(_Model):
    score: Num = _req("mean of column_shapes, column_pair_trends and 1 - 2*max(detection_auc - 0.5, 0); 1 is ideal")
    column_shapes: Num = _req("mean per-column shape score (SDMetrics definition)")
    column_pair_trends: Num = _req("mean pair score over the pairs related in the real data (SDMetrics QualityReport)")
    columns: dict[str, ColumnScore] = _req("per evaluated column")
    pairs: dict[str, PairScore] = _req('per column pair, keyed "a|b"')
    detection_auc: Num = _req("cross-validated ROC AUC of a real-vs-synthetic classifier; 0.5 is ideal")
    detection_auc_ci: Interval = _req("95% Hanley-McNeil interval of detection_auc")
    alpha_precision: Num = _req("integrated alpha-precision (Alaa et al. 2022); 1 is ideal")
    beta_recall: Num = _req("integrated beta-recall (Alaa et al. 2022); 1 is ideal")
    authenticity: Num = _req("share of synthetic rows farther from real data than real rows are from each other")
    skipped: dict[str, str] = _req(_SKIPPED)
    column_pair_trends_all_pairs: Num = _f("mean pair score over all pairs")
    column_pair_trends_pairs_used: int | None = _f("number of pairs averaged in column_pair_trends")
    detection_rows: int | None = _f("rows (real + synthetic) the detection classifier saw")
    detection_folds: int | None = _f("cross-validation folds of the detection classifier")
    prd_rows: Counts | None = _f("rows per side used by alpha-precision / beta-recall / authenticity")
    score_definition: str | None = _f("how score is computed, in words")


# -- privacy -------------------------------------------------------------------------------------


class DcrEcdf(_Model):
    quantiles: list[float] = _req("quantile levels (0, 0.05, ..., 1)")
    synthetic_to_train: list[float | None] = _req("quantiles of synthetic -> nearest training row distances")
    synthetic_to_holdout: list[float | None] = _req("quantiles of synthetic -> nearest holdout row distances")
    holdout_to_train: list[float | None] = _req("quantiles of holdout -> nearest training row distances (baseline)")


class Nndr(_Model):
    synthetic_median: Num = _req("median nearest/second-nearest distance ratio of synthetic rows to training rows")
    holdout_median: Num = _req("the same for holdout rows (reference)")
    synthetic_p05: Num = _f("5th percentile of the synthetic ratios")
    holdout_p05: Num = _f("5th percentile of the holdout ratios")
    share_synthetic_below_holdout_p05: Num = _req("share of synthetic ratios below the holdout's 5th percentile; 0.05 expected")


class Attack(_Model):
    risk: Num = _req("(attack_rate - control_rate) / (1 - control_rate), clipped to [0, 1]; 0 is ideal")
    risk_ci: Interval = _req("95% interval of risk")
    attack_rate: Num = _req("Wilson-centred success rate against training rows")
    control_rate: Num = _req("Wilson-centred success rate against holdout rows")
    n_attacks: int = _req("number of attacks (predicates or targets)")
    n_cols: int | None = _f("singling out: columns per predicate")
    n_neighbors: int | None = _f("linkability: neighbours searched")
    aux_cols: list[str] | list[list[str]] | None = _f("inference: known columns; linkability: the two column sets")
    note: str | None = _f("why no attack could be formed")


class KAnonymity(_Model):
    k: int = _req("size of the smallest quasi-identifier group in the synthetic data")
    quasi_identifiers: list[str] = _req("the columns grouped on")
    share_below_5: Num = _req("share of synthetic rows in groups smaller than 5")
    groups: int = _req("number of groups")
    source: Literal["given", "inferred"] = _req("quasi_identifiers given by the user or inferred from column names")


class DPGuarantee(_Model):
    """Added by the pipeline for models trained with a differential-privacy budget."""

    epsilon: float = _req("the epsilon budget asked for")
    delta: float = _req("the delta of the guarantee")
    mechanism: str | None = _f("dp-sgd or mst")
    accountant: str | None = _f("how epsilon was accounted (RDP, zCDP)")
    epsilon_spent: float | None = _f("epsilon actually spent; never above epsilon")
    mia_auc_bound: float = _req("highest membership-inference AUC an (epsilon, delta)-DP release allows")
    statement: str = _req("the guarantee in words, for the report")


Verdict = Literal["pass", "warn", "fail"]


class Privacy(_Model):
    verdict: Verdict | None = _req("pass / warn / fail (rules in docs/metrics.md); null without a holdout")
    reasons: list[str] = _req("one plain sentence per triggered rule")
    score: Num = _req("1 - the largest normalized leakage measure; 1 = no measurable leakage")
    thresholds: dict[str, float] = _req("the verdict's thresholds (synthkit.evaluate.THRESHOLDS)")
    dcr_share: Num = _req("share of synthetic rows closer to a training row than to any holdout row; 0.5 is ideal")
    dcr_share_ci: Interval = _req("95% Wilson interval of dcr_share (counted by entity when row_intervals says so)")
    row_intervals: Literal["by row", "by entity"] | None = _req("how intervals of shares over synthetic rows count")
    synthetic_entities: int | None = _req("number of synthetic entities when row_intervals is 'by entity'")
    dcr_ecdf: DcrEcdf | None = _req("distance-to-closest-record quantile curves")
    ims_train: Num = _req("share of synthetic rows identical to a training row")
    ims_holdout: Num = _req("share of synthetic rows identical to a holdout row")
    nndr: Nndr | None = _req("nearest-neighbour distance ratios")
    membership_inference_auc: Num = _req("ROC AUC of a density-ratio membership attack; 0.5 is ideal")
    membership_inference_auc_ci: Interval = _req("95% Hanley-McNeil interval of membership_inference_auc")
    singling_out_risk: Num = _req("anonymeter singling-out risk; 0 is ideal")
    singling_out_risk_ci: Interval = _req("95% interval of singling_out_risk")
    linkability_risk: Num = _req("anonymeter linkability risk; 0 is ideal")
    linkability_risk_ci: Interval = _req("95% interval of linkability_risk")
    inference_risk: dict[str, Attack] = _req("anonymeter inference risk per sensitive column")
    k_anonymity: KAnonymity | None = _req("k-anonymity of the synthetic data on the quasi-identifiers (informational)")
    pii_leaks: int | None = _req("distinct real PII values found verbatim in the synthetic data")
    pii_columns: list[str] = _req("PII columns per the metadata")
    skipped: dict[str, str] = _req(_SKIPPED)
    dcr_ties: Num = _f("share of synthetic rows equally close to training and holdout")
    ims_train_ci: Interval = _f("95% interval of ims_train")
    ims_holdout_ci: Interval = _f("95% interval of ims_holdout")
    membership_inference_rows: int | None = _f("members + non-members attacked")
    membership_inference_split: Literal["by row", "by entity"] | None = _f("how the holdout was halved for the attack")
    singling_out: Attack | None = _f("singling-out attack details")
    linkability: Attack | None = _f("linkability attack details")
    pii_leaks_direct: int | None = _f("pii_leaks among direct identifiers (email, phone, ssn, ...)")
    pii_leaks_by_column: Counts | None = _f("pii_leaks per PII column")
    dp: DPGuarantee | None = _f("formal differential-privacy guarantee of a DP model (added by the pipeline)")


# -- utility -------------------------------------------------------------------------------------


class TaskScores(_Model):
    auc: Num = _f("classification: ROC AUC (one-vs-rest macro for more than 2 classes)")
    accuracy: Num = _f("classification: accuracy")
    f1: Num = _f("classification: macro F1")
    r2: Num = _f("regression: R^2")
    mae: Num = _f("regression: mean absolute error")


class UtilityModel(_Model):
    trtr: TaskScores | None = _req("train on real, test on holdout")
    tstr: TaskScores | None = _req("train on synthetic, test on holdout")
    ratio: Num = _req("chance-corrected TSTR/TRTR ratio of the primary metric")


class FeatureImportance(_Model):
    method: str = _req("how importances were measured")
    top_real: list[str] = _req("5 most important features learned from real rows")
    top_synthetic: list[str] = _req("5 most important features learned from synthetic rows")
    real: dict[str, Num] = _req("importance per feature, model trained on real rows")
    synthetic: dict[str, Num] = _req("importance per feature, model trained on synthetic rows")


class Augmentation(_Model):
    metric: str = _req("auc or r2")
    real_rows: int = _req("size of the small real training sample")
    model: str | None = _f("the model (hgb)")
    synthetic_rows: int | None = _f("synthetic rows added")
    real_only: Num = _f("metric trained on the small real sample alone")
    augmented: Num = _f("metric trained on the small real sample plus the synthetic rows")
    lift: Num = _f("augmented - real_only")
    note: str | None = _f("why no lift was measured")


class Utility(_Model):
    target: str | None = _req("the predicted column")
    task: Literal["classification", "regression"] | None = _req("classification or regression")
    models: dict[str, UtilityModel] = _req("per model (logistic or linear, hgb)")
    ratio: Num = _req("mean over models of the chance-corrected ratio")
    score: Num = _req("ratio clipped to [0, 1]; 1 is ideal")
    feature_importance_agreement: Num = _req("Spearman correlation of HGB importances, real vs synthetic")
    augmentation_lift: Augmentation | None = _req("small real training set vs the same plus synthetic rows")
    skipped: dict[str, str] = _req(_SKIPPED)
    rows_with_missing_target: Counts | None = _f("rows dropped for a missing target, per frame")
    primary_metric: Literal["auc", "r2"] | None = _f("the metric ratio is built on")
    feature_importance: FeatureImportance | None = _f("importance details")
    test_set: str | None = _f("holdout, or a note that a split of the real data was used")


# -- temporal (sequence runs) --------------------------------------------------------------------


class Distance(_Model):
    ks: Num = _req("two-sample KS statistic, real vs synthetic; 0 is ideal")
    wasserstein_scaled: Num = _req("W1 distance divided by the real standard deviation")
    real_mean: Num = _req("mean of the real values")
    synthetic_mean: Num = _req("mean of the synthetic values")


class TemporalMarginal(_Model):
    missing_real: float = _req("share of missing values in the real data")
    missing_synthetic: float = _req("share of missing values in the synthetic data")
    ks: Num = _f("numeric measure: KS statistic of present values")
    wasserstein_scaled: Num = _f("numeric measure: scaled W1 distance")
    real_mean: Num = _f("numeric measure: real mean")
    synthetic_mean: Num = _f("numeric measure: synthetic mean")
    tvd: Num = _f("categorical measure: total variation distance of category shares")


class Autocorrelation(_Model):
    real_lag1: Num = _req("pooled within-entity lag-1 autocorrelation, real")
    synthetic_lag1: Num = _req("the same, synthetic")
    diff_lag1: Num = _req("|real_lag1 - synthetic_lag1|")
    mean_abs_diff_lags_1_3: Num = _req("mean absolute difference over lags 1-3")
    real_lag1_rank: Num = _f("the same lag-1 autocorrelation by ranks (Spearman): not led by a few extreme readings, real")
    synthetic_lag1_rank: Num = _f("the same by ranks, synthetic")
    diff_lag1_rank: Num = _f("|real_lag1_rank - synthetic_lag1_rank|")


class TopFeature(_Model):
    feature: str = _req("per-entity summary feature (e.g. HR_std)")
    importance: float = _req("accuracy lost when the feature is shuffled")
    meaning: str = _req("the feature in words")
    real_median: Num = _f("median of the feature over real entities")
    synthetic_median: Num = _f("median of the feature over synthetic entities")


class Discriminative(_Model):
    accuracy: Num = _req("cross-validated accuracy telling real from synthetic entities; 0.5 is ideal")
    score: Num = _req("|accuracy - 0.5|")
    n_per_class: int = _req("entities per side")
    note: str | None = _f("why no classifier was trained")
    interval: Interval = _f("95% Wilson interval of accuracy over the entities")
    top_features: list[TopFeature] | None = _f("features that give synthetic entities away most")


class Predictive(_Model):
    tstr_mae: Num = _req("next-step MAE (real standard deviations) of a predictor trained on synthetic entities")
    trtr_mae: Num = _req("the same, trained on real entities")
    ratio: Num = _req("tstr_mae / trtr_mae; 1 is ideal")


class Temporal(_Model):
    n_entities: Counts = _req("entities per side")
    length: Distance = _req("events per entity")
    marginals: dict[str, TemporalMarginal] = _req("per measure")
    marginal_ks_mean: Num = _req("mean KS over numeric measures")
    autocorrelation: dict[str, Autocorrelation] = _req("per numeric measure")
    autocorrelation_lag1_mean_abs_diff: Num = _req("mean of diff_lag1 over measures")
    autocorrelation_lag1_rank_mean_abs_diff: Num = _f("mean of diff_lag1_rank over measures")
    discriminative: Discriminative = _req("entity-level real-vs-synthetic classifier")
    predictive: Predictive = _req("train-on-synthetic next-step prediction")
    inter_event_time: Distance | None = _f("time between events of an entity (with a time column)")


# -- pipeline sections ---------------------------------------------------------------------------


class Gate(_Model):
    gate: str = _req("the gate as written in the config (family.metric OP value)")
    value: JsonValue = _req("the metric's value (null when not computed)")
    passed: bool = _req("whether the gate held")
    reason: str | None = _f("why it failed")


class Validation(_Model):
    success: bool | None = _req("every expectation met")
    evaluated: int | None = _req("expectations evaluated")
    successful: int | None = _req("expectations met")
    success_percent: Num = _req("share met, in percent")


class Audit(_Model):
    passed: bool = _req("no real PII value, unique real row or (sequences) unique real record found in any output")
    findings: int = _req("number of findings (details in audit.json)")


class Keys(_Model):
    orphans: int = _req("synthetic child rows whose parent key does not exist")
    duplicate_keys: int = _req("duplicated primary keys")
    dated_before_root: int = _req("child dates before the root row's first date")
    root_date_column: str | None = _req("the root date column checked")


class SinkResult(_Model):
    error: str = _req("the sink's error; its tables were left as they were")


class TableSummary(_Model):
    fidelity: Num = _f("fidelity.score of the table")
    privacy_verdict: Verdict | None = _f("privacy.verdict of the table")
    dcr_share: Num = _f("privacy.dcr_share of the table")
    utility: Num = _f("utility.ratio of the table")
    skipped: str | None = _f("why the table was not evaluated")


class Engine(_Model):
    """Declared for the execution engine (local or Ray); filled by the pipeline."""

    name: str = _req("execution engine: local or ray")
    workers: int | None = _f("number of workers (processes or Ray workers) used")
    address: str | None = _f("Ray cluster address, when one was joined")


class Candidate(_Model):
    model: str = _req("candidate model name")
    status: Literal["scored", "skipped", "failed"] | None = _f("scored, or skipped (budget) / failed (see note)")
    score: Num = _f("its selection score (higher is better): the mean over its synthetic draws")
    score_sd: Num = _f("standard deviation of the score across its synthetic draws (null with one draw)")
    draws: int | None = _f("synthetic samples of the validation's size it was scored on (more on small tables)")
    column_shapes: Num = _f("column shapes against the validation rows")
    column_pair_trends: Num = _f("column pair trends against the validation rows")
    detection_auc: Num = _f("real-vs-synthetic classifier AUC against the validation rows")
    utility: Num = _f("with a target: TSTR over TRTR on the validation rows, chance-corrected, in [0, 1] (null without one)")
    dcr_share: Num = _f("share of its rows closer to the rows it was fitted on than to the validation rows")
    dcr_share_ci: Interval = _f("95% interval of dcr_share")
    fit_minutes_allowed: Num = _f("its share of the selection budget (its max_minutes)")
    seconds: Num = _f("time spent fitting and scoring it")
    stop_reason: str | None = _f("how its training ended (epochs, early_stopping, time)")
    chosen: bool | None = _f("whether it was picked")
    note: str | None = _f("why it was skipped or failed")


class Confirmation(_Model):
    """A switch from the incumbent on a small validation split, measured again on further splits."""

    challenger: str = _req("the candidate that led the incumbent by more than switch_margin on the first split")
    splits: list[dict[str, Any]] = _req("per split: its index and the two models' validation scores")
    leads: list[Num] = _req("the challenger's score minus the incumbent's, per split")
    mean_lead: Num = _req("mean of leads")
    confirmed: bool = _req("the switch stands: mean_lead above switch_margin (or only the first split had time)")


class ModelSelection(_Model):
    """model=auto: the candidates tried, their validation scores and the one chosen, with the reason."""

    chosen: str = _req("the model picked")
    reason: str | None = _f("why it was picked, in words")
    metric: str | None = _f("what score measures")
    candidates: list[Candidate] = _req("every candidate tried")
    budget_minutes: Num = _f("max_minutes of the whole selection and refit")
    validation_rows: int | None = _f("training rows kept aside for scoring (no candidate saw them)")
    selection_rows: int | None = _f("training rows the candidates were fitted on while being compared")
    refit_minutes: Num = _f("time budget left for refitting the chosen model on all training rows")
    refit_stop_reason: str | None = _f("how the refit's training ended (time: the budget cut it short)")
    seconds: Num = _f("seconds the whole auto fit took")
    max_dcr_share: Num = _f("candidates whose DCR share interval lies above it are not eligible (they copy)")
    incumbent: str | None = _f("the model kept unless another eligible candidate scores more than switch_margin above it")
    switch_margin: Num = _f("validation score lead another candidate needs over the incumbent (closer is noise)")
    target: str | None = _f("the column candidates were also scored on predicting (utility), if any")
    confirmation: Confirmation | None = _f("on small validation splits: the switch measured again on further splits")


class PipelineMeta(_Model):
    name: str = _req("pipeline name")
    model: str = _req("model used")
    model_reused: bool = _req("the model was reused from the previous run (--reuse-model)")
    seed: int = _req("pipeline seed")
    timings: dict[str, float] = _req("seconds per stage")
    root_table: str | None = _f("multi-table runs: the root table whose metrics are top-level")
    engine: Engine | None = _f("execution engine and worker count")
    model_selection: ModelSelection | None = _f("model=auto: candidates and choice")


class Meta(_Model):
    rows: dict[str, int | None] | None = _f("input rows per frame (real, synthetic, holdout: null without one)")
    evaluated_rows: dict[str, int | None] | None = _f("rows used per frame after subsampling")
    subsampled: bool | None = _f("evaluated_rows differ from rows")
    max_rows: int | None = _f("the subsampling cap")
    seconds: dict[str, float] | None = _f("evaluation seconds per family, prepare and total")
    seed: int | None = _f("evaluation seed")
    synthkit_version: str | None = _f("synthkit version that evaluated")
    families: list[str] | None = _f("families requested")
    columns: dict[str, str] | None = _f("evaluated columns and their kinds")
    excluded_columns: dict[str, str] | None = _f("{column: reason} for columns left out of every metric")
    encoding: str | None = _f("the mixed-type distance encoding, in words")
    pipeline: PipelineMeta | None = _f("added by the pipeline")


class MetricsFile(_Model):
    """The whole ``metrics.json``; ``evaluate()`` writes the families and ``meta``, the pipeline the rest."""

    model_config = ConfigDict(strict=True, extra="forbid", title="synthkit metrics.json",
                              json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"})

    schema_version: Literal[1] = _req("layout version of this file")
    fidelity: Fidelity | None = _f("statistical and sample-level fidelity")
    privacy: Privacy | None = _f("privacy against training rows, holdout as reference")
    utility: Utility | None = _f("machine-learning utility (needs a target)")
    meta: Meta | None = _f("sizes, timings, seed, versions")
    temporal: Temporal | None = _f("sequence runs: temporal fidelity (pipeline)")
    gates: list[Gate] | None = _f("quality gates of the pipeline config")
    status: Literal["ok", "gate_failed", "leak_detected", "sink_failed"] | None = _f("run status (pipeline)")
    validation: Validation | None = _f("Great Expectations summary (pipeline)")
    audit: Audit | None = _f("output audit summary (pipeline)")
    keys: Keys | None = _f("multi-table runs: referential integrity counts")
    tables: dict[str, TableSummary] | None = _f("multi-table runs: headline per table")
    sink: SinkResult | None = _f("why the SQL sink failed (status sink_failed; the run folder is committed)")


_FAMILIES: dict[str, type[_Model]] = {"fidelity": Fidelity, "privacy": Privacy, "utility": Utility}


def layout(family: str) -> dict[str, Any]:
    """A family's required keys, in schema order, as null (or an empty list/dict for containers);
    the evaluator writes this for a family it skipped, so readers never miss a key."""
    out: dict[str, Any] = {}
    for name, field in _FAMILIES[family].model_fields.items():
        if name == "skipped" or not field.is_required():
            continue
        origin = getattr(field.annotation, "__origin__", None)
        out[name] = [] if origin is list else {} if origin is dict else None
    return out


def _problems(exc: ValidationError, limit: int = 8) -> str:
    lines = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def validate_metrics(metrics: Mapping[str, Any], what: str = "metrics", error: type[SynthkitError] = EvaluationError) -> MetricsFile:
    """Check ``metrics`` against the schema as the JSON it becomes; raise ``error`` naming every bad key.

    The dict itself is not changed: callers write the dict, so output stays byte-identical.
    """
    if not isinstance(metrics, Mapping):
        raise error(f"{what} must be a metrics.json dict, got {type(metrics).__name__}")
    try:
        text = json.dumps(metrics, allow_nan=False, default=json_default)
    except (TypeError, ValueError) as exc:
        raise error(f"{what} is not JSON: {exc}") from None
    try:
        return MetricsFile.model_validate_json(text)
    except ValidationError as exc:
        raise error(f"{what} does not match the metrics.json schema (docs/metrics.schema.json): {_problems(exc)}") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``metrics.json`` (committed as ``docs/metrics.schema.json``)."""
    return MetricsFile.model_json_schema()
