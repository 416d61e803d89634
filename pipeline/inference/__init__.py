"""Inference from a trained model: 2-bit packing, the C++ kernel, the packed model, GGUF export and llama.cpp."""
