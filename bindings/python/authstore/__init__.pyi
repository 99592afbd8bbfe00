from ._authstore import *  # noqa: F401,F403
from ._authstore import open as open  # noqa: F401
from ._errors import *  # noqa: F401,F403

__version__: str
