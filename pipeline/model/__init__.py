"""The language model: the transformer, its ternary layers and quantizers, dropout, and model checkpoints."""
