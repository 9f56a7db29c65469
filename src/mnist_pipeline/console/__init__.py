"""What the project prints: the libraries' notices a user cannot act on dropped
(:mod:`.library_notices`), TensorFlow's C++ log lines filtered (:mod:`.tensorflow_logs`).
The lowest room: it imports nothing of the project, and no TensorFlow."""

from .library_notices import quiet_start
from .tensorflow_logs import EXPORT_LOG, stderr_without

__all__ = ["EXPORT_LOG", "quiet_start", "stderr_without"]
