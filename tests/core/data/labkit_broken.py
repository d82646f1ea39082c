"""A plugin whose import fails, as a plugin with a missing dependency would."""

import labkit_this_dependency_does_not_exist  # noqa: F401
