"""What the ingest routes depend on beyond shared/web.py: the API keys they need."""

from typing import Annotated

from shared.web import Caller, require

IngestKey = require("ingest")
# sending articles is rate-limited per key
Sender = Annotated[Caller, require("ingest", limit="ingest")]
