"""Sequences and perplexity: stream windows, per-story sequences with padding excluded."""

import math

import numpy as np
import pytest
import torch

from pipeline.training.evaluate import IGNORE, StorySequences, StreamWindows, evaluate_lm, evenly_spaced


def test_stream_windows_shift_targets_by_one():
    tokens = np.arange(21, dtype=np.uint16)
    windows = StreamWindows(tokens, 4)
    assert len(windows) == 5
    inputs, targets = windows.batch(np.array([1]))
    assert inputs.tolist() == [[4, 5, 6, 7]] and targets.tolist() == [[5, 6, 7, 8]]


def test_story_sequences_pad_and_ignore_padding():
    # three stories of 3, 6 and 2 tokens (the last token of each is its [SEP] = 9)
    tokens = np.array([1, 2, 9, 3, 4, 5, 6, 7, 9, 8, 9], dtype=np.uint16)
    stories = StorySequences(tokens, np.array([0, 3, 9, 11]), seq_len=4, pad_id=0)
    assert len(stories) == 3
    inputs, targets = stories.batch(np.array([0, 1, 2]))
    assert inputs.tolist() == [[1, 2, 9, 0], [3, 4, 5, 6], [8, 9, 0, 0]]
    assert targets.tolist() == [[2, 9, IGNORE, IGNORE], [4, 5, 6, 7], [9, IGNORE, IGNORE, IGNORE]]


class _Uniform(torch.nn.Module):
    """Predicts every token of a vocabulary of V with probability 1 / V."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab

    def forward(self, ids):
        return torch.zeros(*ids.shape, self.vocab)


def test_uniform_model_perplexity_is_vocab_size_and_padding_does_not_count():
    tokens = np.array([1, 2, 9, 3, 4, 5, 6, 7, 9, 8, 9], dtype=np.uint16)
    stories = StorySequences(tokens, np.array([0, 3, 9, 11]), seq_len=4, pad_id=0)
    result = evaluate_lm(_Uniform(10), stories, np.arange(3), batch_size=2, label_smoothing=0.1)
    assert result["tokens"] == 2 + 4 + 1
    assert result["ppl"] == pytest.approx(10.0)
    assert result["loss"] == pytest.approx(math.log(10))


def test_evenly_spaced_covers_the_range():
    assert evenly_spaced(10, 3).tolist() == [0, 4, 9]  # linspace(0, 9, 3) = 0, 4.5, 9 (rounds to even)
    assert evenly_spaced(3, 5).tolist() == [0, 1, 2]
