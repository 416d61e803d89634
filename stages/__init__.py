"""Thin DVC stage entry points: parse arguments, load the config, call pipeline/, write outputs."""
