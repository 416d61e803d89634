"""Data sources (synthetic, local files, Hugging Face hub) behind one prepared layout."""
