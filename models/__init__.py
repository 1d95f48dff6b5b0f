"""Model families, their input contracts and training. Importing this package never imports torch:
``models.contract`` and ``models.preprocess`` are used at serve time; the torch parts live in submodules."""
