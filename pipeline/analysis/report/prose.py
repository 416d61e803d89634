"""The report's fixed text: the definitions and the deviations from the paper and its released code
that the report quotes, and the banners and notes chosen from a run's facts. Text only: no files
are read and nothing is computed here."""

from __future__ import annotations

from pipeline.analysis.figures import REGIME_ZOOM_RATIO
from pipeline.metrics import GAUSSIAN_ZERO_FRACTION
from pipeline.paper import PAPER_PARAMETERS, REPORTED as R

DEFINITIONS = f"""
* **Perplexity (ours)** = exp(mean negative log-likelihood per predicted token) on held-out text, in
  eval mode (no dropout), without label smoothing (`*_val_ppl`).
* **Perplexity (the notebook's)** = exp(label-smoothed cross-entropy), smoothing `train.label_smoothing`
  (`*_val_ppl_smoothed`). The paper's {R['val_ppl']} is judged on this definition, ours is shown beside it;
  on one model the two differ by a large factor.
* **Train/val ratio** = validation perplexity / training perplexity at the end of training, both
  measured the same way on equal token counts (`train.eval_tokens`; training sequences spread evenly
  over the training set). The loss ratio is recorded too.
* **Regularization contrast** = FP32 twin's ratio minus the ternary model's, paired by seed; the gap
  share = that difference / (twin's ratio - 1).
* **Seed spread** = sample standard deviation (n - 1) over the seeds in `train.seeds`; standard
  error = std / sqrt(n).
* **Constant predictor** (GLUE) = the best score any constant prediction reaches on the dev set
  (accuracy: the majority rate; MRPC F1: always "paraphrase"; MCC: 0). Transfer share = (ternary -
  constant) / (FP32 twin - constant).
* **Weight memory** (MB = 10^6 bytes): exact bytes of the tensors each format keeps resident.
  Under the paper's conditions (`ternary_pytorch`): block layers at 2 bits per weight + one fp32
  scale per tensor, embedding, head and norms in fp32. Our packed model (`ternary_packed`) keeps the
  embedding and head in `benchmark.head_dtype`.
* **Peak inference memory**: highest RSS of a fresh process during a batch-1 forward over one
  sequence, minus the RSS of the loaded runtime (interpreter, torch, kernel); on CUDA
  `torch.cuda.max_memory_allocated`.
* **Latency**: batch-1 greedy decoding with a KV cache, ms per generated token after the prefill
  (median and IQR over repeats after a warm-up, `torch.utils.benchmark`), all formats timed in one
  process, one after another. `ternary_pytorch` (no custom kernel) and `ternary_fakequant` (the
  released code's FP32 latent weights, quantized on every call) are timed on 8 tokens x 3 repeats.
* **Sparsity**: fraction of ternary codes round(w / mean|w|) equal to 0, per layer and module; a
  Gaussian weight gives 31.0%. Beside it, the TWN threshold |w| < 0.7 mean|w| (42.4% for a
  Gaussian). Middle layers: relative depth l/L in `sparsity.middle_band` (L5-L9 of 12).
"""

DEVIATIONS = f"""
| topic | paper text | released notebook | this pipeline | consequence |
|---|---|---|---|---|
| schedule | cosine, peak 1e-3, 1k warm-up | OneCycle, 3e-4, 10% warm-up | both, as profiles `paper-text` / `paper-code` | numbers are tied to a named recipe |
| batch | 64 x 512 tokens | 32 x 128 tokens | profile-dependent | |
| OneCycle momentum | - | torch's default cycles beta1 0.85-0.95 | `train.cycle_momentum`: on in `paper-code`, off elsewhere (betas hold) | stated per profile |
| sequences | - | one 128-token sequence per story, padded | `train.sequences`: `per_story` in `paper-code` (padding excluded from the loss), `stream` windows elsewhere | ~1,875 vs ~3,160 steps per epoch at the paper's scale |
| "perplexity" | {R['val_ppl']} | exp(label-smoothed loss) | both: `val_ppl_smoothed` (judged against {R['val_ppl']}) and true `val_ppl` beside it | like for like |
| reported {R['val_ppl']} | abstract | log: validation loss 4.1746 (exp = 65.02), last training loss 4.0799 (exp = 59.1) | validation, smoothed | {R['val_ppl']} is nearest to exp(smoothed *training* loss) |
| baseline | "identical architecture" | no causal mask, learned positions (the notebook's baseline) | `model.baseline`: the exact FP32 twin by default; the notebook's baseline in `paper-code` and the `maskless_baseline` arm | a maskless model sees the next token |
| ternary init | - | std 1.0 on ternary layers (missed by `_init_weights`), 0.02 elsewhere | `model.init_std` per role: 0.02 by default, 1.0 in `paper-code` and the `notebook_init` arm | `paper-code-fixed` shows the cost |
| memory | {R['memory_ternary_mb']:g} vs {R['memory_fp32_mb']:g} MB | FP32 latent weights only | weight bytes under the paper's conditions (fp32 embedding/head), computed exactly | {R['memory_fp32_mb']:g} MB exceeds 132M x 4 B = {PAPER_PARAMETERS * 4 / 1e6:.0f} MB: the paper's figure includes more than weights |
| memory baseline | v2 abstract: "an FP32 model of identical architecture" | README table: "BERT-Base FP32" {R['memory_fp32_mb']:g} MB, "BERT-Base INT8" {R['memory_int8_mb']:g} MB | the FP32 twin of our model | the {R['memory_fp32_mb']:g}/{R['memory_int8_mb']:g} MB rows may describe a different model |
| latency | "comparable" / "parity", no custom kernels | README table, device not stated | parity judged on the packed model without custom kernels; our C++ kernel and the fake-quantized setup beside it | absolute ms/token are device-bound |
| where numbers appear | SST-2, CoLA, INT8, latencies | README tables only, not the abstracts | claims table cites the source of each | |
"""


def scale_banner(summary: dict) -> str:
    """What kind of evidence this run is, from the ``run_*`` conditions summarize writes into
    summary.json (real data, the paper's model, its training): the line the appendix on this run
    opens with."""
    if not summary.get("run_real_data"):
        return ("**Synthetic data.** This run trains small models on the embedded synthetic corpus: it checks that "
                "every stage runs, offline, in minutes, and decides no model-quality claim (each is `not comparable` "
                "or `not testable here`). Its 132M-shape benchmark does decide the memory and latency claims.")
    if not (summary.get("run_paper_model") and summary.get("run_paper_training")):
        return ("**Small-scale run on real data.** TinyStories and GLUE are real, the model and training are smaller "
                "than the paper's: absolute figures are `not comparable`; claims about a direction or a ratio are "
                "judged where their preconditions hold.")
    return "**Paper-scale run on real data.** Verdicts compare directly with the paper's claims."


def evidence_line(study_present: bool, profile: str, synthetic: bool) -> str:
    """The line under the title: where the verdicts come from, and where this run's own numbers are."""
    sources = ("the CPU study on real data (`results/cpu-study`), " if study_present else "") + \
        "the benchmark of the paper's 132M architecture and published figures"
    this_run = (f"This run (profile `{profile}`, synthetic data) only exercises the pipeline: Appendix A."
                if synthetic else f"This run: profile `{profile}`, pooled with the archives.")
    return f"Verdicts pooled from {sources}, one source per claim. {this_run}"


BAND_SD = "Shaded band: one sample standard deviation over the seeds around their mean."
EPOCH_CURVES_CAPTION = ("Train (solid) and validation (dashed) loss at each epoch end, true NLL in eval mode, mean over "
                        "seeds; each panel one training length. " + BAND_SD + " Where a model's two curves part, it "
                        "overfits.")
STUDY_DEPTH_CAPTION = ("Zero codes per layer of each run set that ran, mean over its seeds (no band: the arms have two "
                       "seeds). Orange: the middle layers the paper's depth claim is about. Dashed: the level a Gaussian "
                       "weight gives under round(w / mean|w|); the y axis spans at least 4 points, twice the claims' "
                       "2-point tolerance.")
THIS_RUN_DEPTH_CAPTION = ("Zero codes per layer, mean over seeds, the FP32 twin's weights as they would be ternarized. "
                          + BAND_SD + " Orange: the middle layers; dashed: the Gaussian level; the y axis spans at least "
                          "4 points.")
REGIME_INTRO = ("The paper's headline contrast (val/train 1.05x ternary vs 3.51x FP32) came from a notebook with two "
                "bugs that each push its way: ternary layers initialised with std 1.0 (codes that barely move, so the "
                "model barely fits and cannot overfit) and an FP32 baseline without a causal mask (it can copy the next "
                "token, so its training loss collapses). The regime map trains the fixed pair (causal twin, init 0.02) "
                "at widths 64 and 128 on 200 and 1,000 stories, 3 seeds each, on a constant learning rate after "
                "warm-up, so every epoch of one run is a point on the length axis; beside it the notebook's recipe with "
                "both quirks on, and with the two bugs fixed. The contrast is the FP32 twin's final val/train PPL ratio "
                "minus the ternary model's, paired by seed (mean ± 95% t half-width, one-sample t-test of the "
                "differences); the second comparison is the ternary model's validation loss minus the twin's at the "
                "same training loss, which removes the effect of one model fitting faster.")
REGIME_MISSING = ("Run it with `python -m pipeline.profiles regime-map && dvc repro`, then "
                  "`python -m pipeline.analysis.archive regime-map`; it spans several sittings (README, \"The regime "
                  "map\": `--partial` and `--restore`).")
REGIME_CAPTION = ("Each line one cell, each point the end of an epoch (mean over seeds): x the FP32 twin's val/train "
                  "ratio (log scale), y the twin's minus the ternary model's (linear within ±1, logarithmic beyond, so a "
                  "contrast of 100 and one of 0.5 both show). Above the dashed line the paper's direction, below it "
                  "the reverse. The star is the paper's pair (3.51x FP32, 1.05x ternary). The right panel zooms into "
                  f"twin ratios up to {REGIME_ZOOM_RATIO:g} on linear axes, where a cell that never overfits (the notebook "
                  "pair) sits. Per-epoch ratios come from the epoch evaluations (train.epoch_eval_tokens), the table's from the final one (train.eval_tokens).")
REGIME_PROVISIONAL = ("**Provisional.** The study is still training (a partial archive): the table, figure and "
                      "findings below cover only the run sets already whole ({run_sets}); {missing} runs are still "
                      "to train. No claim is judged from it until the archive is complete.")
LEAK_INTRO = ("### Does the notebook's baseline copy the next token?\n\nA baseline without the causal mask sees the "
              "token it is asked to predict; the notebook's collapsed to a training loss near 0 within two epochs. "
              "The leak probe evaluates a maskless model with the causal mask imposed: a model that copies loses "
              "what copying was worth (claims.leak_min_nats, committed before the runs). The table sets the notebook "
              "pair's maskless baseline beside its causal twin (the same recipe with the mask) and beside the "
              "attempts of profile `leak-attempts`: the same baseline at width 128, and trained three times as long. "
              "Training loss is the end-of-epoch evaluation on train.epoch_eval_tokens, mean over seeds.")
LEAK_ATTEMPTS_MISSING = ("The attempts (wider, longer) are not archived yet: `python -m pipeline.profiles leak-attempts && "
                         "dvc repro`, then `python -m pipeline.analysis.archive leak-attempts` (README, \"The regime "
                         "map\").")
SPARSITY_CURVES_INTRO = ("### Sparsity where the weights moved\n\nThe sparsity claims mean something only once "
                         "training moved the ternary codes away from their initial draw: a Gaussian weight gives "
                         f"{100 * GAUSSIAN_ZERO_FRACTION:.1f}% zeros under the rule round(w / mean|w|). Every train stage logs the zero percentage of the "
                         "ternary model's codes at the end of each epoch, over all block layers and over the middle "
                         "band and the boundary layers, so each run shows whether its sparsity was still moving when "
                         "it stopped. The claims `sparsity_middle_vs_boundary_<arm>` and `sparsity_above_gaussian_<arm>` "
                         "judge each longer run set on its own seeds, once at least claims.min_code_change_fraction of "
                         "its codes changed.")
SPARSITY_CURVES_CAPTION = ("Each line one run set, each point the end of an epoch (mean over seeds). Left: zero codes "
                           "over all block layers, the dashed line the Gaussian level. Right: the middle band's zero "
                           "percentage minus the boundary layers', the dotted line the bar a sparsity claim must clear.")
APPENDIX_A = ("The default profile trains 3 seeds of each model on an embedded synthetic corpus in a few minutes on a "
              "CPU. It is the pipeline's smoke test: it shows that every stage runs offline and that the outputs fit "
              "together. Its model numbers decide no claim of the paper (they are not comparable with the paper's "
              "TinyStories and GLUE figures); they are shown here so that a change to the pipeline can be seen.")


def machine_note(bench: dict) -> str:
    """Whether the benchmark ran on an idle machine, in words, from the CPU load benchmark.json
    sampled around the timings: a busy machine makes every timing an upper bound."""
    before, after = bench.get("cpu_busy_before"), bench.get("cpu_busy_after")
    if before is None:
        return "CPU load was not sampled (no /proc/stat)."
    state = "idle" if bench.get("machine_idle") else "**busy: other work shared the cores; treat timings as upper bounds**"
    return f"Machine {state} (other work used {before:.0%} of the CPU before timing, {after:.0%} after)."
