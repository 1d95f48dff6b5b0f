"""Training: image folders and the input cache (``data``), batches and augmentation (``batches``,
``augment``), the shared loop (``loop``), and one trainer per kind (``classifier``, ``drnet``); ``python -m
models.train`` is ``cli``."""
