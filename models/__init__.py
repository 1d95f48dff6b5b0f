"""Model families, training and evaluation: the torch side. Serving never imports this package
(``service/`` reads ONNX files and ``inputs/``); export reads models only through ``models.registry``."""
