"""A bag-of-words reference for GLUE: what surface features alone score on each task.

A logistic regression on counts of the project tokenizer's tokens (unigrams and bigrams, no [CLS] or
[SEP]), so the reference sees the word pieces the fine-tuned models see. A sentence pair (MRPC) is
four blocks of counts side by side: sentence 1, sentence 2, their elementwise |c1 - c2| and
min(c1, c2), the last being the pieces the two sentences share (the overlap a paraphrase shows).

The regularization strength is chosen by stratified 5-fold cross-validation over the training rows
only, scored by the task's headline metric; the dev split is read once, to score the refitted model.
The dictionary returned has the neural fine-tune's metric names (pipeline/training/glue.py), so the
two read side by side.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from tokenizers import Tokenizer

from pipeline.data.prepared import Example, read_glue_split
from pipeline.data.tokenizer import load_tokenizer
from pipeline.metrics import HEADLINE_METRIC, dev_scores

C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)  # inverse L2 strength, one decade apart
CV_FOLDS = 5
# Newton-CG: exact L2 (the intercept unpenalized, unlike liblinear), converges in under ten Newton
# steps on these counts and was 8x faster than lbfgs on 2,000 CoLA rows; the cap is never reached.
SOLVER = "newton-cg"
MAX_ITER = 1_000
# scikit-learn's scorer name for each headline metric of pipeline/metrics.py
SCORER = {"accuracy": "accuracy", "f1": "f1", "mcc": "matthews_corrcoef"}


def word_pieces(tokenizer: Tokenizer, texts: list[str]) -> list[list[str]]:
    """Each text as the tokenizer's word pieces (``["the", "cat", "##s"]``), without special tokens."""
    return [encoding.tokens for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]


def unigrams_and_bigrams(pieces: list[str]) -> list[str]:
    """The analyzer CountVectorizer calls on one tokenized text: each piece and each adjacent pair
    (joined by a space, which no word piece contains)."""
    return pieces + [f"{first} {second}" for first, second in zip(pieces, pieces[1:])]


def fit_vocabulary(tokenizer: Tokenizer, examples: list[Example]) -> CountVectorizer:
    """A CountVectorizer whose vocabulary is every n-gram of ``examples`` (both sentences of a pair)."""
    texts = [e.sentence1 for e in examples] + [e.sentence2 for e in examples if e.sentence2 is not None]
    return CountVectorizer(analyzer=unigrams_and_bigrams).fit(word_pieces(tokenizer, texts))


def bow_features(vectorizer: CountVectorizer, tokenizer: Tokenizer, examples: list[Example]) -> sp.csr_matrix:
    """One row per example: the n-gram counts of a single sentence (V columns); for a pair, the blocks
    ``[c1, c2, |c1 - c2|, min(c1, c2)]`` (4 V columns). V is the vocabulary size; unseen n-grams drop."""
    first = vectorizer.transform(word_pieces(tokenizer, [e.sentence1 for e in examples]))
    if all(e.sentence2 is None for e in examples):
        return first.tocsr()
    if any(e.sentence2 is None for e in examples):
        raise ValueError("a task mixes single sentences and pairs; every example needs a sentence2 or none does")
    second = vectorizer.transform(word_pieces(tokenizer, [e.sentence2 for e in examples]))
    return sp.hstack([first, second, abs(first - second), first.minimum(second)], format="csr")


def bow_classifier(task: str, seed: int, n_jobs: int = 1) -> LogisticRegressionCV:
    """L2 logistic regression, C picked over :data:`C_GRID` by seeded stratified folds of the rows it is
    fitted on, scored by ``task``'s headline metric; unweighted classes, as the fine-tune trains."""
    # the seed acts on the folds only: newton-cg draws nothing at random
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    return LogisticRegressionCV(Cs=list(C_GRID), l1_ratios=(0.0,), cv=folds, scoring=SCORER[HEADLINE_METRIC[task]],
                                solver=SOLVER, max_iter=MAX_ITER, class_weight=None, random_state=seed,
                                n_jobs=n_jobs, use_legacy_attributes=False)


def bow_task(tokenizer: Tokenizer, data_dir: Path, task: str, seed: int, max_train_examples: int | None = None,
             n_jobs: int = 1) -> dict[str, float]:
    """Fit the reference on ``task``'s training split (its first ``max_train_examples`` rows when given)
    and score it on the dev split. Returns the fine-tune's dev metrics and sizes (accuracy, f1, mcc,
    headline, train_examples, dev_examples, dev_positive_fraction, trivial_*, dev_majority_accuracy)
    plus ``chosen_C``, ``features`` (the n-gram vocabulary size V) and ``fit_seconds`` (wall seconds of
    the cross-validated fit, folds and refit)."""
    train = read_glue_split(data_dir, task, "train")[:max_train_examples]
    vectorizer = fit_vocabulary(tokenizer, train)
    classifier = bow_classifier(task, seed, n_jobs)
    started = time.perf_counter()
    classifier.fit(bow_features(vectorizer, tokenizer, train), [e.label for e in train])
    fit_seconds = time.perf_counter() - started
    dev = read_glue_split(data_dir, task, "dev")
    labels = [e.label for e in dev]
    predictions = [int(p) for p in classifier.predict(bow_features(vectorizer, tokenizer, dev))]
    # the same names and definitions as the fine-tunes write, so a reader can set the two side by side
    return dev_scores(task, labels, predictions) | {"train_examples": len(train), "chosen_C": float(classifier.C_),
                                                     "features": len(vectorizer.vocabulary_),
                                                     "fit_seconds": fit_seconds}


def bow_all(tokenizer_path: Path, data_dir: Path, tasks: list[str], seed: int,
            max_train_examples: Mapping[str, int] | None = None, n_jobs: int = 1) -> dict[str, dict[str, float]]:
    """:func:`bow_task` for every task in ``tasks``, with the tokenizer the tokenize stage wrote;
    ``max_train_examples`` caps a task's training rows (a task it does not name: all of them), as
    ``glue.max_train_examples`` caps the fine-tunes'."""
    tokenizer, caps = load_tokenizer(tokenizer_path), max_train_examples or {}
    return {task: bow_task(tokenizer, data_dir, task, seed, caps.get(task), n_jobs) for task in tasks}
