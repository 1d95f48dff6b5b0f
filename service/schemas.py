"""Response schemas of the HTTP API (the request is the raw JPEG or a multipart ``file``, plus ``top_k``)."""

from typing import Any

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    detail: str = Field(description="What went wrong and what was expected")


class PredictionOut(BaseModel):
    label: str
    class_id: str = Field(description="The dataset's class id, e.g. an ImageNet wnid such as n02088364")
    index: int = Field(description="Output index of the class in the model's logits")
    score: float = Field(description="Softmax probability")


class TimingsOut(BaseModel):
    read: float = Field(description="JPEG bytes -> model inputs (coefficient read or decode+resize), ms")
    queue: float = Field(description="Waiting for a micro-batch, ms")
    infer: float = Field(description="The runtime call of the batch this image was in, ms")
    total: float = Field(description="From the start of the request to the answer, body upload included, ms")


class ClassifyResponse(BaseModel):
    model: str
    predictions: list[PredictionOut]
    input_bytes: int = Field(description="Bytes of the tensors handed to the runtime for this image")
    timings_ms: TimingsOut
    resolution: int | None = Field(None, description="DRNet only: the resolution the predictor chose")
    gflops: float | None = Field(None, description="DRNet only: GFLOPs this image cost (predictor + chosen path)")


class ModelInfo(BaseModel):
    name: str
    kind: str = Field(description="dct, rgb or drnet")
    contract: dict[str, Any] = Field(description="The model's input contract (models/contract.py)")
    labels: list[str]
    class_ids: list[str]
    provider: str = Field(description="The ONNX Runtime execution provider actually in use")
    providers: dict[str, str] = Field(description="Execution provider in use per graph")
    graphs: list[str]
    gflops: dict[str, float] = Field(description="GFLOPs per image of each graph, from its metadata")
    input_bytes: int | None = Field(None, description="Bytes handed to the runtime per image (dct and rgb)")


class ModelList(BaseModel):
    models: list[ModelInfo]


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    status: str
    models: dict[str, str] = Field(description="Model name -> execution provider in use")
