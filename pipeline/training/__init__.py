"""Training: pre-training, GLUE fine-tuning, the shared optimizer step, evaluation, resume files, DVCLive curves, DDP and throughput."""
