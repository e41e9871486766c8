"""The project's exception types: each says what is wrong and what to change."""


class LstmForecastError(Exception):
    """Base class of every error this project raises on purpose."""


class CandleDataError(LstmForecastError):
    """Input candles that cannot be trusted: names the file, the column and the rows at fault."""


class ArtifactError(LstmForecastError):
    """A model artefact (checkpoint, ONNX file) that is missing, corrupt or inconsistent."""


class ValidationFailedError(LstmForecastError):
    """An exported model failed a validation check; says which check and by how much."""


class LineageError(LstmForecastError):
    """Stage outputs that were not made from each other: mixing them would be silently wrong."""


class FetchError(LstmForecastError):
    """Candles could not be fetched from an exchange archive; names the URL and what to do."""
