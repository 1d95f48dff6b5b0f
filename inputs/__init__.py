"""inputs: the input contract of each model kind and bytes -> model inputs (numpy only, never torch).

Serving, training and export all read it: ``contract`` (what a model takes), ``graphs`` (graph keys and
tensor specs), ``kinds`` (one table entry per kind), ``metadata`` (the keys inside each ONNX file), and the
preprocessing itself: ``dct``, ``rgb``, ``thumbnail``, with the acceptance rules of ``support``.
"""
